// The write tools: create a property, update a record, create a pipeline stage, add a note. Each goes
// through ctx.crm — the live writer, or in dry-run its recording twin — never straight to the client.
import { AssociationTypes } from "@hubspot/api-client";
import { eq } from "drizzle-orm";
import { z } from "zod";
import { crmLinks } from "../../../db/schema/index.ts";
import type { AppDb } from "../../../db/types.ts";
import { DomainError } from "../../errors.ts";
import { PROPERTIES } from "../../hubspot/setup.ts";
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

/** The ticket properties foreman's CRM sync owns (setup:hubspot made them): task_id, task_url, … */
const SYNC_PROPERTIES: readonly string[] = PROPERTIES.map((p) => p.name);
/** Tickets, by any name HubSpot's object API takes for them. */
const TICKETS = new Set(["tickets", "ticket", "0-5"]);
/** What places a ticket in a pipeline stage: on a ticket that mirrors a task, the task's state. */
const STAGE_PROPERTIES = ["hs_pipeline", "hs_pipeline_stage"] as const;

/**
 * Refuses an agent's write to what the CRM sync owns. Its properties tie a ticket to its task (the
 * sync writes and finds tickets by task_id; task_url is the link people follow); a mirrored ticket's stage is its task's state, and
 * a move there is read back as a person's command — an agent moving its own ticket to Cancelled would
 * cancel its own task. Other tickets' stages are the client's business and stay writable.
 */
async function refuseSyncOwned(
  ctx: { db: AppDb },
  input: { objectType: string; id: string; properties: Record<string, unknown> },
): Promise<void> {
  if (!TICKETS.has(input.objectType)) return;
  const names = Object.keys(input.properties);
  const owned = names.filter((n) => SYNC_PROPERTIES.includes(n));
  if (owned.length > 0) {
    throw new DomainError(
      "VALIDATION",
      `${owned.join(" and ")} ${owned.length > 1 ? "are" : "is"} foreman's own ticket propert${owned.length > 1 ? "ies" : "y"}: the CRM sync writes ${owned.length > 1 ? "them" : "it"}, never a tool.`,
      { field: `properties.${owned[0]}` },
    );
  }
  const staged = names.filter((n) => (STAGE_PROPERTIES as readonly string[]).includes(n));
  if (staged.length === 0) return;
  const [link] = await ctx.db
    .select({ taskId: crmLinks.taskId })
    .from(crmLinks)
    .where(eq(crmLinks.ticketId, input.id));
  if (link) {
    throw new DomainError(
      "VALIDATION",
      `Ticket ${input.id} mirrors foreman task ${link.taskId}: its stage follows that task's state and is set by the CRM sync. Finish with submit or block instead of moving the ticket.`,
      { field: `properties.${staged[0]}` },
    );
  }
}

export const updateRecord = defineTool({
  name: "hubspot_update_record",
  description:
    "Set properties on one CRM record (a partial update: properties not named keep their values). " +
    "A ticket that mirrors a foreman task keeps its stage and its task_id/last_event_id: the sync sets them.",
  sideEffect: true,
  input: z.strictObject({ objectType, id: recordId, properties: propertyValues }),
  run: async (ctx, input) => {
    await refuseSyncOwned(ctx, input);
    return written(await ctx.crm.updateRecord(input.objectType, input.id, input.properties), (updated) => ({
      updated: {
        id: updated.id,
        properties: Object.fromEntries(Object.keys(input.properties).map((k) => [k, updated.properties[k]])),
      },
    }));
  },
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
