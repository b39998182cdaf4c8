// The day-1 worker `crm-setup` (seed 000: activating our own CRM): its allow-list of tools.

import { getPipelines, getProperties, searchObjects } from "./hubspot/read-tools.ts";
import { addNote, createPipelineStage, createProperty, updateRecord } from "./hubspot/write-tools.ts";
import { defineRegistry } from "./registry.ts";
import { checklistComplete } from "./task/checklist.ts";
import { spawnSubtaskTool } from "./task/spawn.ts";
import { block, submit } from "./task/terminal.ts";

export const crmSetupTools = defineRegistry("crm-setup", [
  searchObjects,
  getProperties,
  getPipelines,
  createProperty,
  updateRecord,
  createPipelineStage,
  addNote,
  checklistComplete,
  spawnSubtaskTool,
  submit,
  block,
]);
