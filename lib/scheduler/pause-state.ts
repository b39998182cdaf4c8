// Whether the scheduler is paused, since when, and — while the outbox still keeps the event — who
// paused it and why (the `scheduler/paused` row the pause wrote in the same statement), and whether it
// is a budget pause that lifts itself on a new day. ONE query.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { schedulerPaused } from "../events.ts";
import { BUDGET_DAY_KEY, PAUSED_KEY } from "./pause.ts";

export interface PauseState {
  paused: boolean;
  /** When the flag last changed (null: never set). */
  since: string | null;
  reason: string | null;
  actor: string | null;
  /** The UTC day whose spent budget holds the pause: it lifts itself on a later day. Null: a person's. */
  budgetDay: string | null;
}

type Row = {
  paused: boolean | null;
  since: string | Date | null;
  data: { reason?: string; actor?: string } | string | null;
  budget_day: string | null;
};

export async function readPauseState(db: AppDb): Promise<PauseState> {
  const result = await db.execute(sql`
    select (s.value)::text = 'true' as paused, s.updated_at as since,
           (select o.data from outbox o where o.name = ${schedulerPaused.name} order by o.id desc limit 1) as data,
           (select b.value #>> '{}' from settings b where b.key = ${BUDGET_DAY_KEY}) as budget_day
      from (select 1) one left join settings s on s.key = ${PAUSED_KEY}`);
  const row = rowsOf<Row>(result)[0];
  const paused = row?.paused === true;
  const data = paused && row?.data ? fromJson(row.data) : null;
  return {
    paused,
    since: row?.since ? new Date(row.since).toISOString() : null,
    reason: data?.reason ?? null,
    actor: data?.actor ?? null,
    budgetDay: paused ? (row?.budget_day ?? null) : null,
  };
}
