// The global pause flag. Pausing and resuming are each ONE statement that flips the flag and, only
// when it actually flipped, writes `scheduler/paused` / `scheduler/resumed` to the outbox — so a
// budget breach seen by many runs raises exactly one alert. The event id carries the day (paused)
// or the moment (resumed), so a re-send is a duplicate.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { schedulerPaused, schedulerResumed } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";

/** The settings row that holds the flag (jsonb true / false). */
export const PAUSED_KEY = "scheduler.paused";

/** SQL: is the scheduler paused now (false when the flag was never set). */
export const pausedSql = sql`coalesce((select s.value = 'true'::jsonb from settings s where s.key = ${PAUSED_KEY}), false)`;

async function flip(
  db: AppDb,
  to: boolean,
  message: OutboxMessage,
): Promise<{ changed: boolean; outbox: OutboxMessage[] }> {
  const result = await db.execute(sql`
    with flipped as (
      insert into settings (key, value) values (${PAUSED_KEY}, ${JSON.stringify(to)}::jsonb)
      on conflict (key) do update set value = excluded.value, updated_at = now()
        where settings.value is distinct from excluded.value
      returning key
    ),
    ob as (
      insert into outbox (event_id, name, data)
      select ${message.eventId}, ${message.name}, ${JSON.stringify(message.data)}::jsonb from flipped
      on conflict (event_id) do nothing
    )
    select count(*)::int as n from flipped`);
  const changed = (rowsOf<{ n: number }>(result)[0]?.n ?? 0) > 0;
  return { changed, outbox: changed ? [message] : [] };
}

export function pauseScheduler(db: AppDb, opts: { reason: string; actor: string; now: Date }) {
  return flip(db, true, {
    eventId: `scheduler-paused:${opts.now.toISOString().slice(0, 10)}:${opts.reason.slice(0, 40)}`,
    name: schedulerPaused.name,
    data: { reason: opts.reason, actor: opts.actor },
  });
}

export function resumeScheduler(db: AppDb, opts: { actor: string; now: Date }) {
  return flip(db, false, {
    eventId: `scheduler-resumed:${opts.now.toISOString()}`,
    name: schedulerResumed.name,
    data: { actor: opts.actor },
  });
}
