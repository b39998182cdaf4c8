// A watchdog action that changes no task state (a re-sent event, a re-sync request, a re-created
// wait), in ONE statement: the `watchdog` task event under the action's idempotency key and the
// outbox rows it owes, written only with the event. A retried step finds its key taken, writes
// nothing more and gets the same rows back to send again (same ids: the engine keeps one).
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { OutgoingEvent } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { eventRecord } from "../tasks/event-kinds.ts";
import { WATCHDOG_ACTOR } from "./decide.ts";

export interface WatchdogAction {
  taskId: string;
  /** Names the case and the attempt: a repeat of the key is the same action. */
  key: string;
  payload: { action: string; at: string } & Record<string, unknown>;
  /** Events the action owes, built with the catalogue's `.create()` and an explicit id. */
  emit: OutgoingEvent[];
}

export interface RecordedAction {
  /** False when the key had been used: nothing was written, the rows are the first ones. */
  recorded: boolean;
  outbox: OutboxMessage[];
}

export async function recordAction(db: AppDb, action: WatchdogAction): Promise<RecordedAction> {
  const record = eventRecord("watchdog", action.payload);
  const outbox: OutboxMessage[] = [];
  for (const e of action.emit) {
    await e.validate?.();
    if (!e.id) throw new Error(`watchdog: ${e.name} needs an explicit id (one per case and attempt)`);
    outbox.push({ eventId: e.id, name: e.name, data: (e.data ?? {}) as Record<string, unknown> });
  }
  const rows = toJsonb(outbox.map((m) => ({ event_id: m.eventId, name: m.name, data: m.data })));
  const result = await db.execute(sql`
    with ev as (
      insert into task_events (task_id, kind, payload, actor, idempotency_key)
      values (${action.taskId}, ${record.kind}, ${toJsonb(record.payload)}::jsonb, ${WATCHDOG_ACTOR}, ${action.key})
      on conflict (task_id, idempotency_key) where idempotency_key is not null do nothing
      returning id
    ),
    ob as (
      insert into outbox (event_id, name, data, cause_event_id)
      select x.event_id, x.name, x.data, ev.id
        from ev cross join jsonb_to_recordset(${rows}::jsonb) as x(event_id text, name text, data jsonb)
      on conflict (event_id) do nothing
    )
    select (select count(*) from ev)::int as recorded`);
  const recorded = (rowsOf<{ recorded: number }>(result)[0]?.recorded ?? 0) > 0;
  return { recorded, outbox };
}
