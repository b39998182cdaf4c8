// Ticket writes for the sync, as SDK calls: one write goes to the single-object endpoint (PATCH by id,
// PATCH ?idProperty=task_id, POST create); several go to batch update / batch create (≤ 100 each). The
// same SDK call code (singleCall) runs live through the client here or, for dry-run, over a transport
// that captures the request (would-do.ts) — so a WOULD_DO is the SDK's own method, path and body.
//
// Outcomes are per row. A row HubSpot refuses (400 validation, 404 gone, 409 task_id taken — on a 207
// or a single call) is an outcome, not an exception: the caller notes it on the task. What the whole
// call could not do is thrown as a DomainError: 429 RATE_LIMITED after HubSpot's own delay (its
// Retry-After when there is one, else its X-HubSpot-RateLimit-Interval-Milliseconds window), 5xx and
// network UPSTREAM (retried), 401/403 UNAUTHORIZED. The client makes one attempt per call (client.ts):
// the SDK's own retries would sleep 10 s × attempt inside a step; Inngest's retries own the waiting.
// Responses are checked with zod, so a malformed answer is a typed UPSTREAM error, not a crash.
import * as tickets from "@hubspot/api-client/lib/codegen/crm/tickets/index.js";
import { z } from "zod";
import { DomainError } from "../errors.ts";
import type { HubSpotClient } from "../hubspot/client.ts";
import { fromHubSpotError } from "../hubspot/errors.ts";
import type { TicketWrite } from "./plan.ts";

/** HubSpot's ticket → company association (AssociationTypes.ticketToCompany). */
const TICKET_TO_COMPANY = 339;

export interface TicketRow {
  taskId: string;
  write: TicketWrite;
  /** The HubSpot company a created ticket is associated with (the task's project's), if any. */
  companyId?: string | null;
}

export type RowOutcome =
  | { taskId: string; ok: true; ticketId: string; created: boolean }
  | { taskId: string; ok: false; category: string; message: string; retryable: boolean };

export interface Apis {
  basic: tickets.BasicApi;
  batch: tickets.BatchApi;
}

const createInput = (row: TicketRow) => ({
  properties: row.write.properties,
  associations: row.companyId
    ? [
        {
          to: { id: row.companyId },
          types: [
            {
              associationCategory: tickets.AssociationSpecAssociationCategoryEnum.HubspotDefined,
              associationTypeId: TICKET_TO_COMPANY,
            },
          ],
        },
      ]
    : [],
});

/** The one place each ticket write is an SDK call (live and recording run the same code). */
export function singleCall(apis: Apis, row: TicketRow) {
  const { write } = row;
  if (write.via === "id") return apis.basic.update(write.ticketId, { properties: write.properties });
  if (write.via === "task_id")
    return apis.basic.update(row.taskId, { properties: write.properties }, "task_id");
  return apis.basic.create(createInput(row));
}

// ---- responses ------------------------------------------------------------------------------------

const object = z.object({ id: z.string().min(1), properties: z.record(z.string(), z.string().nullable()) });
const batchResponse = z.object({
  results: z.array(object),
  errors: z
    .array(
      z.object({
        category: z.string(),
        message: z.string(),
        context: z.record(z.string(), z.array(z.string())).optional(),
      }),
    )
    .optional(),
});

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new DomainError("UPSTREAM", `HubSpot answered ${what} with an unexpected body: ${r.error.message}`);
}

/** A refused row's outcome, when the status means "this row" rather than "this call". */
function rowRefusal(taskId: string, err: unknown): RowOutcome | undefined {
  const e = err as { code?: unknown; body?: { message?: string; category?: string } };
  const status = typeof e?.code === "number" ? e.code : undefined;
  if (status === 400 || status === 404 || status === 409 || status === 422) {
    const category = e.body?.category ?? (status === 404 ? "OBJECT_NOT_FOUND" : "VALIDATION_ERROR");
    return {
      taskId,
      ok: false,
      category,
      message: e.body?.message ?? `HubSpot answered ${status}`,
      retryable: false,
    };
  }
  return undefined;
}

// ---- live -----------------------------------------------------------------------------------------

const liveApis = (client: HubSpotClient): Apis => ({
  basic: client.crm.tickets.basicApi,
  batch: client.crm.tickets.batchApi,
});

/** One write through the single-object endpoint. */
export async function writeOne(client: HubSpotClient, row: TicketRow): Promise<RowOutcome> {
  let answer: unknown;
  try {
    answer = await singleCall(liveApis(client), row);
  } catch (err) {
    const refused = rowRefusal(row.taskId, err);
    if (refused) return refused;
    throw fromHubSpotError(err, `the ticket of task ${row.taskId}`);
  }
  const t = parsed(object, answer, "a ticket write");
  return { taskId: row.taskId, ok: true, ticketId: t.id, created: row.write.via === "create" };
}

/** Per-row outcomes of a batch answer: results by ticket id or task_id, errors by context ids. */
function batchOutcomes(rows: TicketRow[], answer: unknown, created: boolean): RowOutcome[] {
  const body = parsed(batchResponse, answer, "a batch write");
  const out = new Map<string, RowOutcome>();
  // HubSpot names a row by the id it was addressed by: a ticket id, or the task_id itself.
  const byTicket = new Map<string, string>(rows.map((r) => [r.taskId, r.taskId]));
  for (const r of rows) if (r.write.via === "id") byTicket.set(r.write.ticketId, r.taskId);
  for (const res of body.results) {
    const taskId = byTicket.get(res.id) ?? res.properties.task_id ?? undefined;
    if (taskId && rows.some((r) => r.taskId === taskId))
      out.set(taskId, { taskId, ok: true, ticketId: res.id, created });
  }
  const unattributed: { category: string; message: string }[] = [];
  for (const e of body.errors ?? []) {
    const ids = [
      ...(e.context?.ids ?? []).map((id) => byTicket.get(id)),
      ...(e.context?.objectWriteTraceId ?? []),
    ].filter((x): x is string => typeof x === "string" && rows.some((r) => r.taskId === x));
    if (ids.length === 0) unattributed.push(e);
    for (const taskId of ids) {
      if (!out.has(taskId))
        out.set(taskId, { taskId, ok: false, category: e.category, message: e.message, retryable: false });
    }
  }
  // A row HubSpot neither wrote nor named: it may or may not have been applied; try it again later.
  return rows.map(
    (r) =>
      out.get(r.taskId) ?? {
        taskId: r.taskId,
        ok: false,
        category: "UNATTRIBUTED",
        message: unattributed[0]?.message ?? "HubSpot's batch answer did not mention this row",
        retryable: true,
      },
  );
}

/**
 * Updates in one batch call (≤ 100 rows; 200 or 207): by HubSpot id, or — rows whose create answer
 * was lost — by task_id (`idProperty`). One call does not mix the two addressings.
 */
export async function updateMany(client: HubSpotClient, rows: TicketRow[]): Promise<RowOutcome[]> {
  const inputs = rows.map((r) => {
    if (r.write.via === "create") throw new Error(`updateMany: task ${r.taskId} has no ticket to update`);
    return r.write.via === "id"
      ? { id: r.write.ticketId, properties: r.write.properties, objectWriteTraceId: r.taskId }
      : { id: r.taskId, idProperty: "task_id", properties: r.write.properties, objectWriteTraceId: r.taskId };
  });
  if (new Set(inputs.map((i) => i.idProperty ?? "")).size > 1) {
    throw new Error("updateMany: one batch addresses tickets either by id or by task_id");
  }
  let answer: unknown;
  try {
    answer = await client.crm.tickets.batchApi.update({ inputs });
  } catch (err) {
    throw fromHubSpotError(err, `a batch update of ${rows.length} tickets`);
  }
  return batchOutcomes(rows, answer, false);
}

/** Creates, in one batch call (≤ 100 rows; 201 or 207). */
export async function createMany(client: HubSpotClient, rows: TicketRow[]): Promise<RowOutcome[]> {
  const inputs = rows.map((r) => ({ ...createInput(r), objectWriteTraceId: r.taskId }));
  let answer: unknown;
  try {
    answer = await client.crm.tickets.batchApi.create({ inputs });
  } catch (err) {
    throw fromHubSpotError(err, `a batch create of ${rows.length} tickets`);
  }
  return batchOutcomes(rows, answer, true);
}
