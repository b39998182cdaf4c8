// The global pause flag. Pausing and resuming are each ONE statement that flips the flag and, only
// when it actually flipped, writes `scheduler/paused` / `scheduler/resumed` to the outbox — so a
// budget breach seen by many runs raises exactly one alert. The event id carries the moment of the
// flip, so a re-send is a duplicate and a later pause (even the same day, for the same reason) is
// new. A pause the daily budget caused also marks its day (BUDGET_DAY_KEY, in the same statement):
// the schedule function lifts it once a new UTC day has budget again (resumeAfterBudgetDay), while a
// person's pause stays until a person resumes. A person pausing on top of a budget pause takes it
// over: the flag stays set, but the day's mark goes and their `scheduler/paused` (`over: "budget"`)
// is written in the same statement, so who holds the pause, and why, is on record and announced.
// Both rows are locked first, the flag's before the mark's (one order for every statement, so two
// never deadlock), and what was there is read from that lock: a statement that waited on a racing
// pause or resume then acts on what it committed, not on its own stale snapshot. The mark is a row
// that always exists (jsonb null when no day is marked; migration 0018), so it is there to lock:
// a person's pause that waited on a budget pause's lock used to miss the mark inserted meanwhile,
// and the next day lifted the pause a person had set.
import { type SQL, sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { schedulerPaused, schedulerResumed } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";

/** The settings row that holds the flag (jsonb true / false). */
export const PAUSED_KEY = "scheduler.paused";
/** The settings row naming the UTC day (jsonb "YYYY-MM-DD") whose spent budget paused the scheduler. */
export const BUDGET_DAY_KEY = "scheduler.paused_budget_day";

/** SQL: is the scheduler paused now (false when the flag was never set). */
export const pausedSql = sql`coalesce((select s.value = 'true'::jsonb from settings s where s.key = ${PAUSED_KEY}), false)`;
/** SQL: the day a budget pause is for, or null when the pause (if any) is a person's. */
export const budgetPauseDaySql = sql`(select s.value #>> '{}' from settings s where s.key = ${BUDGET_DAY_KEY})`;

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The statement's head: both rows locked in key order (the flag, then the mark), with their values as
 * committed when the lock was granted; `wasPaused` and `markedDay` read them.
 */
const locked = sql`locked as (
      select key, value from settings where key in (${PAUSED_KEY}, ${BUDGET_DAY_KEY}) order by key for update
    )`;
const wasPaused = sql`coalesce((select l.value = 'true'::jsonb from locked l where l.key = ${PAUSED_KEY}), false)`;
const markedDay = sql`(select l.value #>> '{}' from locked l where l.key = ${BUDGET_DAY_KEY})`;
/** A CTE body that clears the day's mark when `cond` holds, returning its key if it did. */
const clearMark = (cond: SQL) => sql`update settings set value = 'null'::jsonb, updated_at = now()
       where key = ${BUDGET_DAY_KEY} and ${markedDay} is not null and ${cond}
      returning key`;
/** A CTE body that sets the flag to `to` when it was not, returning its key if it did. */
const setFlag = (to: boolean) => sql`
      insert into settings (key, value) select ${PAUSED_KEY}, ${toJsonb(to)}::jsonb
       where ${wasPaused} is distinct from ${to}
      on conflict (key) do update set value = excluded.value, updated_at = now()
      returning key`;

/** The statement's end the budget's pause and a resume share: `message` owed to the outbox only if `flipped` has a row. */
const owedIfFlipped = (message: OutboxMessage) => sql`ob as (
      insert into outbox (event_id, name, data)
      select ${message.eventId}, ${message.name}, ${toJsonb(message.data)}::jsonb from flipped
      on conflict (event_id) do nothing
    )
    select count(*)::int as n from flipped`;

function flipOutcome(result: unknown, message: OutboxMessage): { changed: boolean; outbox: OutboxMessage[] } {
  const changed = (rowsOf<{ n: number }>(result)[0]?.n ?? 0) > 0;
  return { changed, outbox: changed ? [message] : [] };
}

async function flip(
  db: AppDb,
  to: boolean,
  message: OutboxMessage,
  budgetDay?: string,
): Promise<{ changed: boolean; outbox: OutboxMessage[] }> {
  const result = await db.execute(sql`
    with ${locked},
    flipped as (${setFlag(to)}),
    ${
      budgetDay === undefined
        ? // A person's resume: no pause stands, so no budget day's mark either.
          sql`marker as (${clearMark(sql`true`)}),`
        : // The budget's pause marks its day only when it is what paused the scheduler.
          sql`marker as (
      insert into settings (key, value) select ${BUDGET_DAY_KEY}, ${toJsonb(budgetDay)}::jsonb from flipped
      on conflict (key) do update set value = excluded.value, updated_at = now()
    ),`
    }
    ${owedIfFlipped(message)}`);
  return flipOutcome(result, message);
}

/** Pauses; `budgetDay` (UTC, YYYY-MM-DD) when that day's budget is spent: the pause lifts on a later day. */
export function pauseScheduler(
  db: AppDb,
  opts: { reason: string; actor: string; now: Date; budgetDay?: string },
): Promise<{ changed: boolean; outbox: OutboxMessage[] }> {
  const message: OutboxMessage = {
    eventId: `scheduler-paused:${opts.now.toISOString()}`,
    name: schedulerPaused.name,
    data: { reason: opts.reason, actor: opts.actor },
  };
  return opts.budgetDay === undefined ? personPause(db, message) : flip(db, true, message, opts.budgetDay);
}

/**
 * A person's pause: ONE statement that sets the flag and removes any budget day's mark. It owes
 * `scheduler/paused` when the flag flipped, or when it was set by the budget and is now the person's
 * (`over: "budget"`: it no longer lifts on a new day). Over a person's pause it changes nothing.
 */
async function personPause(
  db: AppDb,
  message: OutboxMessage,
): Promise<{ changed: boolean; outbox: OutboxMessage[] }> {
  const result = await db.execute(sql`
    with ${locked},
    flipped as (${setFlag(true)}),
    marker as (${clearMark(sql`true`)}),
    changed as (
      select case when exists (select 1 from flipped) then null else 'budget' end as over
       where exists (select 1 from flipped) or exists (select 1 from marker)
    ),
    ob as (
      insert into outbox (event_id, name, data)
      select ${message.eventId}, ${message.name},
             ${toJsonb(message.data)}::jsonb
               || case when c.over is null then '{}'::jsonb else jsonb_build_object('over', c.over) end
        from changed c
      on conflict (event_id) do nothing
    )
    select count(*)::int as n, max(over) as over from changed`);
  const row = rowsOf<{ n: number; over: string | null }>(result)[0];
  if (!row || row.n === 0) return { changed: false, outbox: [] };
  const data = row.over === "budget" ? { ...message.data, over: "budget" } : message.data;
  return { changed: true, outbox: [{ ...message, data }] };
}

/**
 * Lifts a budget pause whose day has passed: ONE statement that removes the day's mark and — only if
 * it removed it, and the flag is still set — clears the flag and owes `scheduler/resumed`. A person's
 * pause has no mark, so it is never lifted here.
 */
export async function resumeAfterBudgetDay(
  db: AppDb,
  opts: { now: Date },
): Promise<{ changed: boolean; outbox: OutboxMessage[] }> {
  const today = utcDay(opts.now);
  const message: OutboxMessage = {
    eventId: `scheduler-resumed:${opts.now.toISOString()}`,
    name: schedulerResumed.name,
    data: { actor: "fn:schedule", reason: `a new budget day (${today})` },
  };
  const result = await db.execute(sql`
    with ${locked},
    marker as (${clearMark(sql`${markedDay} < ${today}`)}),
    flipped as (
      update settings set value = 'false'::jsonb, updated_at = now()
       where key = ${PAUSED_KEY} and ${wasPaused} and exists (select 1 from marker)
      returning key
    ),
    ${owedIfFlipped(message)}`);
  return flipOutcome(result, message);
}

export function resumeScheduler(db: AppDb, opts: { actor: string; now: Date }) {
  return flip(db, false, {
    eventId: `scheduler-resumed:${opts.now.toISOString()}`,
    name: schedulerResumed.name,
    data: { actor: opts.actor },
  });
}
