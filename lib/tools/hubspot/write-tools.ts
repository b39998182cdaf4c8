// The write tools: create a property, update a record, create a pipeline stage, add a note. Each goes
// through ctx.crm — the live writer, or in dry-run its recording twin — never straight to the client.
import { AssociationTypes } from "@hubspot/api-client";
import { z } from "zod";
import { text } from "../../text.ts";
import { defineTool } from "../contract.ts";
import { FIELD_TYPES, PROPERTY_TYPES } from "../crm/writer.ts";
import { label, objectType, propertyName, propertyValues, recordId } from "./schemas.ts";
import { written } from "./written.ts";

const option = z.strictObject({
  label,
  value: text({ trim: true, min: 1, max: 200 }),
  description: text({ max: 500 }).optional(),
  displayOrder: z.number().int().min(-1).max(10_000).optional(),
  hidden: z.boolean().default(false),
});

export const createProperty = defineTool({
  name: "hubspot_create_property",
  description:
    "Create a custom property on an object type. `type` is the data type, `fieldType` how it is edited " +
    "(enumeration: select/radio/checkbox with `options`; bool: booleancheckbox; string: text/textarea).",
  sideEffect: true,
  input: z.strictObject({
    objectType,
    name: propertyName,
    label,
    type: z.enum(PROPERTY_TYPES),
    fieldType: z.enum(FIELD_TYPES),
    groupName: propertyName.describe("The property group's internal name, e.g. ticketinformation."),
    description: text({ max: 1_000 }).optional(),
    hasUniqueValue: z.boolean().optional().describe("Values must be unique per record (limited per object)."),
    options: z.array(option).max(500).optional().describe("The choices of an enumeration property."),
  }),
  run: async (ctx, { objectType: type, ...property }) =>
    written(await ctx.crm.createProperty(type, property), (created) => ({ created })),
});

export const updateRecord = defineTool({
  name: "hubspot_update_record",
  description: "Set properties on one CRM record (a partial update: properties not named keep their values).",
  sideEffect: true,
  input: z.strictObject({ objectType, id: recordId, properties: propertyValues }),
  run: async (ctx, input) =>
    written(await ctx.crm.updateRecord(input.objectType, input.id, input.properties), (updated) => ({
      updated: {
        id: updated.id,
        properties: Object.fromEntries(Object.keys(input.properties).map((k) => [k, updated.properties[k]])),
      },
    })),
});

export const createPipelineStage = defineTool({
  name: "hubspot_create_pipeline_stage",
  description:
    "Add a stage to a pipeline. Ticket stages need metadata.ticketState OPEN or CLOSED; deal stages need " +
    "metadata.probability between 0.0 and 1.0. Labels must be unique within the pipeline.",
  sideEffect: true,
  input: z.strictObject({
    objectType,
    pipelineId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a pipeline id")
      .describe("The pipeline id from hubspot_get_pipelines."),
    label,
    displayOrder: z.number().int().min(-1).max(10_000),
    metadata: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), text({ max: 200 })).default({}),
  }),
  run: async (ctx, { objectType: type, pipelineId, ...stage }) =>
    written(await ctx.crm.createPipelineStage(type, pipelineId, stage), (created) => ({ created })),
});

// HubSpot-defined note associations, from the SDK's AssociationTypes.
const NOTE_TO = {
  contacts: AssociationTypes.noteToContact,
  companies: AssociationTypes.noteToCompany,
  deals: AssociationTypes.noteToDeal,
  tickets: AssociationTypes.noteToTicket,
} as const;

export const addNote = defineTool({
  name: "hubspot_add_note",
  description: "Add a note to a record's timeline (a contact, company, deal or ticket).",
  sideEffect: true,
  input: z.strictObject({
    body: text({ trim: true, min: 1, max: 65_000, multiline: true }).describe(
      "The note text (HTML allowed).",
    ),
    objectType: z.enum(["contacts", "companies", "deals", "tickets"]).describe("The record the note is on."),
    objectId: recordId,
  }),
  run: async (ctx, input) =>
    written(
      await ctx.crm.addNote({
        body: input.body,
        timestamp: ctx.now().toISOString(),
        associations: [{ objectId: input.objectId, associationTypeId: NOTE_TO[input.objectType] }],
      }),
      (note) => ({ created: { id: note.id }, on: { objectType: input.objectType, id: input.objectId } }),
    ),
});
