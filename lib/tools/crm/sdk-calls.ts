// The one place each CRM write is expressed as an SDK call. The live writer runs these against the
// client's APIs, the recording twin against the same SDK classes over a capturing transport — so a
// WOULD_DO's path and body are the SDK's own serialisation, not a hand-made copy that could drift.
import type { BasicApi as ObjectsApi } from "@hubspot/api-client/lib/codegen/crm/objects/index.js";
import {
  AssociationSpecAssociationCategoryEnum,
  type BasicApi as NotesApi,
} from "@hubspot/api-client/lib/codegen/crm/objects/notes/index.js";
import type { PipelineStagesApi } from "@hubspot/api-client/lib/codegen/crm/pipelines/index.js";
import type {
  CoreApi as PropertiesApi,
  PropertyCreate,
} from "@hubspot/api-client/lib/codegen/crm/properties/index.js";
import type { NoteDraft, PropertyDraft, StageDraft } from "./writer.ts";

export interface CrmApis {
  properties: PropertiesApi;
  objects: ObjectsApi;
  stages: PipelineStagesApi;
  notes: NotesApi;
}

export const sdkCalls = {
  createProperty: (apis: CrmApis, objectType: string, p: PropertyDraft) =>
    // The draft's enums are the SDK's enum values as strings.
    apis.properties.create(objectType, p as unknown as PropertyCreate),
  updateRecord: (apis: CrmApis, objectType: string, id: string, properties: Record<string, string>) =>
    apis.objects.update(objectType, id, { properties }),
  createPipelineStage: (apis: CrmApis, objectType: string, pipelineId: string, stage: StageDraft) =>
    apis.stages.create(objectType, pipelineId, stage),
  addNote: (apis: CrmApis, note: NoteDraft) =>
    apis.notes.create({
      properties: { hs_note_body: note.body, hs_timestamp: note.timestamp },
      associations: note.associations.map((a) => ({
        to: { id: a.objectId },
        types: [
          {
            associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined,
            associationTypeId: a.associationTypeId,
          },
        ],
      })),
    }),
};
