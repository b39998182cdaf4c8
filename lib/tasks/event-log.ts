// The event writer for streamed worker events (turns, tool calls, results, summaries, WOULD_DO): each
// batch is validated against the closed union of kinds and appended in ONE multi-row statement. It
// touches no hot row — not the task, not the run — so a thousand concurrent runs never queue behind
// each other's row locks (seed 000's lesson).

import { sql } from "drizzle-orm";
import { executePrepared } from "../../db/prepared.ts";
import { toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { type TaskEventRecord, taskEventRecord } from "./event-kinds.ts";

export type AppendableEvent = TaskEventRecord & { taskId: string; runId?: string | null; actor: string };

/**
 * Appends the events in order; returns the ids of the rows written. An invalid payload is a bug and
 * writes nothing. With `key` (the step's own key) the batch is idempotent: event i carries
 * `events:<key>#i` in task_events' idempotency index, so a retried step that already appended them
 * writes none again and returns only what is new.
 */
export async function appendEvents(
  db: AppDb,
  events: AppendableEvent[],
  opts: { key?: string } = {},
): Promise<number[]> {
  if (events.length === 0) return [];
  const rows = events.map((e, i) => {
    taskEventRecord.parse({ kind: e.kind, payload: e.payload });
    return {
      task_id: e.taskId,
      run_id: e.runId ?? null,
      kind: e.kind,
      payload: e.payload,
      actor: e.actor,
      key: opts.key === undefined ? null : `events:${opts.key}#${i}`,
    };
  });
  const result = await executePrepared(
    db,
    sql`insert into task_events (task_id, run_id, kind, payload, actor, idempotency_key)
        select x.task_id, x.run_id, x.kind, x.payload, x.actor, x.key
          from rows from (jsonb_to_recordset(${toJsonb(rows)}::jsonb)
                 as (task_id text, run_id text, kind text, payload jsonb, actor text, key text))
               with ordinality as x(task_id, run_id, kind, payload, actor, key, ord)
         order by x.ord
        ${opts.key === undefined ? sql`` : sql`on conflict (task_id, idempotency_key) where idempotency_key is not null do nothing`}
        returning id`,
  );
  return (result as { rows: { id: string | number }[] }).rows.map((r) => Number(r.id));
}
