// Storing a worker's submission in ONE statement: the `deliverables` row (next version, content
// hash), the task's current deliverable hash — only while this run still holds the task's lease —
// the `deliverable` event, and `task/work.submitted` (carrying the deliverable id) in the outbox.
// The id comes from the step's key, so a retried step stores nothing twice.
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { redactSecrets } from "../dossier/redact.ts";
import { DomainError } from "../errors.ts";
import { taskWorkSubmitted } from "../events.ts";
import { stableId } from "../ids.ts";
import type { OutboxMessage } from "../outbox/message.ts";

export interface SubmitWorkInput {
  taskId: string;
  runId: string;
  markdown: string;
  result: Record<string, unknown>;
  key: string;
}

export interface StoredDeliverable {
  id: string;
  version: number;
  hash: string;
  outbox: OutboxMessage[];
}

export const deliverableHash = (markdown: string, result: Record<string, unknown>) =>
  createHash("sha256").update(markdown).update("\u0000").update(JSON.stringify(result)).digest("hex");

/** The structured result with every string in it redacted (redaction never adds quotes or escapes). */
function redactedResult(result: SubmitWorkInput["result"]): SubmitWorkInput["result"] {
  return JSON.parse(redactSecrets(JSON.stringify(result))) as SubmitWorkInput["result"];
}

/** The outbox event id of a deliverable's `task/work.submitted` is this and the deliverable's id. */
export const WORK_SUBMITTED_PREFIX = "work-submitted:";

export async function storeDeliverable(db: AppDb, raw: SubmitWorkInput): Promise<StoredDeliverable> {
  // What the reviewer, the team and the client read carries no key or token the worker came across.
  const input = { ...raw, markdown: redactSecrets(raw.markdown), result: redactedResult(raw.result) };
  const id = stableId("dlv", input.key);
  const hash = deliverableHash(input.markdown, input.result);
  const message: OutboxMessage = {
    eventId: `${WORK_SUBMITTED_PREFIX}${id}`,
    name: taskWorkSubmitted.name,
    data: { taskId: input.taskId, runId: input.runId, deliverableId: id, deliverableHash: hash },
  };
  const result = await db.execute(sql`
    with held as (
      select t.id from tasks t
       where t.id = ${input.taskId} and t.status = 'working' and t.current_run_id = ${input.runId}
    ),
    ins as (
      insert into deliverables (id, task_id, run_id, version, hash, markdown, result)
      select ${id}, held.id, ${input.runId},
             (select coalesce(max(d.version), 0) + 1 from deliverables d where d.task_id = held.id),
             ${hash}, ${input.markdown}, ${toJsonb(input.result)}::jsonb
        from held
      on conflict (id) do nothing
      returning id, version
    ),
    eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    cur as (
      update tasks set deliverable_hash = ${hash}, last_event_id = (select id from eid), updated_at = now()
       where id = ${input.taskId} and exists (select 1 from ins)
      returning id
    ),
    ev as (
      insert into task_events (id, task_id, run_id, kind, payload, actor)
      select (select id from eid), ${input.taskId}, ${input.runId}, 'deliverable',
             jsonb_build_object('deliverableId', ins.id, 'version', ins.version, 'hash', ${hash}::text), 'worker'
        from ins
    ),
    ob as (
      insert into outbox (event_id, name, data)
      select ${message.eventId}, ${message.name}, ${toJsonb(message.data)}::jsonb from ins
      on conflict (event_id) do nothing
    )
    select coalesce((select version from ins), (select version from deliverables where id = ${id})) as version,
           (select count(*) from held)::int as held`);
  const [row] = rowsOf<{ version: number | null; held: number }>(result);
  if (row?.version === null || row?.version === undefined) {
    throw new DomainError(
      "CONFLICT",
      `Run ${input.runId} no longer holds task ${input.taskId}; the work was not stored.`,
      {
        details: { taskId: input.taskId, runId: input.runId },
      },
    );
  }
  return { id, version: Number(row.version), hash, outbox: [message] };
}
