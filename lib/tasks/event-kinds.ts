// The closed list of task_events kinds and their payloads: one zod schema per kind, one union. A
// CHECK constraint on task_events.kind (db/schema/task-events.ts) enforces the same list, so a kind
// that is not declared here cannot be written by any path.
import { z } from "zod";
import { TASK_STATES } from "../states.ts";

const state = z.enum(TASK_STATES);

export const EVENT_PAYLOADS = {
  submitted: z.object({
    source: z.enum(["api", "hubspot", "agent", "schedule"]),
    sourceRef: z.string().nullable(),
    dependsOn: z.array(z.string()),
    /** Fields cleaned of characters PostgreSQL or people cannot read (CRM data is cleaned, not refused). */
    cleaned: z.array(z.string()).optional(),
  }),
  state_changed: z.object({
    from: state,
    to: state,
    reason: z.string().nullable(),
    version: z.number().int(),
  }),
  // `linkId`: the client link this note says was handed over (the resumed stage reads it).
  note: z.object({ text: z.string(), author: z.string().optional(), linkId: z.string().optional() }),
  dependency_added: z.object({ dependsOn: z.array(z.string()) }),
  deliverable: z
    .object({ deliverableId: z.string(), version: z.number().int(), hash: z.string() })
    .passthrough(),
  would_do: z.object({ method: z.string(), path: z.string(), body: z.unknown().optional() }),
  enriched: z.object({ from: z.string(), fields: z.array(z.string()) }).passthrough(),
  triage: z.object({ via: z.string(), reason: z.string() }).passthrough(),
  worker_turn: z.object({ turn: z.number().int() }).passthrough(),
  tool_call: z.object({ tool: z.string() }).passthrough(),
  tool_result: z.object({ tool: z.string() }).passthrough(),
  worker_summary: z.object({ text: z.string() }).passthrough(),
  review: z.object({ verdict: z.enum(["pass", "fail"]) }).passthrough(),
  review_pending: z.object({ reason: z.string() }).passthrough(),
  stamp: z.object({ decision: z.enum(["approve", "request_changes", "reject"]) }).passthrough(),
  refusal: z.object({ what: z.string(), reason: z.string() }).passthrough(),
  reminder: z.object({ to: z.string() }).passthrough(),
  escalation: z.object({ to: z.string() }).passthrough(),
  crm_sync: z.object({ ticketId: z.string() }).passthrough(),
  watchdog: z.object({ action: z.string() }).passthrough(),
  // A person's retry (or unblock) of a task intake never triaged: intake triages it again first.
  retriage: z.object({ from: state, reason: z.string() }),
} as const;

export type EventKind = keyof typeof EVENT_PAYLOADS;
export const EVENT_KINDS = Object.keys(EVENT_PAYLOADS) as EventKind[];

/** A task event as written: the closed union of kinds with their payloads. */
export const taskEventRecord = z.discriminatedUnion(
  "kind",
  EVENT_KINDS.map((kind) =>
    z.object({ kind: z.literal(kind), payload: EVENT_PAYLOADS[kind] }),
  ) as unknown as [z.ZodObject<{ kind: z.ZodLiteral<EventKind>; payload: z.ZodType }>],
);
export type TaskEventRecord = {
  [K in EventKind]: { kind: K; payload: z.infer<(typeof EVENT_PAYLOADS)[K]> };
}[EventKind];

/** Validates a record before it is written; a payload that does not match its kind is a bug. */
export const eventRecord = <K extends EventKind>(
  kind: K,
  payload: z.infer<(typeof EVENT_PAYLOADS)[K]>,
): TaskEventRecord => taskEventRecord.parse({ kind, payload }) as TaskEventRecord;
