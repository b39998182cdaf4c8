// The scheduler's snapshot, read in ONE query: the pause flag (and the day of a budget pause), today's spend against the daily
// budget, each active worker's slots and busy leases, each project's weight and 24 h token use, and
// the ready tasks. The pure scheduler (schedule.ts) decides from it; nothing here decides.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { budgetedTokens } from "../budget/status.ts";
import { budgetPauseDaySql, pausedSql } from "./pause.ts";
import type { Snapshot } from "./schedule.ts";

export interface BudgetConfig {
  dailyTokens: number;
  dailyCostUsd?: number | undefined;
}

type Row = {
  paused: boolean | null;
  budget_pause_day: string | null;
  tokens_today: string | number;
  cost_today: string | number;
  workers: { workerId: string; slots: number; busy: number }[] | null;
  projects: { projectId: string; share: number; tokens24h: number }[] | null;
  ready:
    | {
        taskId: string;
        projectId: string;
        workerId: string;
        lane: number;
        readySince: string;
        revision: boolean;
      }[]
    | null;
};

export interface SchedulerSnapshot extends Snapshot {
  /** The UTC day whose spent budget paused the scheduler; null when a person paused it, or nobody. */
  budgetPauseDay: string | null;
  tokensToday: number;
  costToday: number;
}

export async function readSnapshot(db: AppDb, now: Date, budget: BudgetConfig): Promise<SchedulerSnapshot> {
  const at = now.toISOString();
  const result = await db.execute(sql`
    select
      ${pausedSql} as paused,
      ${budgetPauseDaySql} as budget_pause_day,
      (select coalesce(sum(${budgetedTokens()}), 0) from token_usage
        where created_at >= date_trunc('day', ${at}::timestamptz at time zone 'UTC') at time zone 'UTC') as tokens_today,
      (select coalesce(sum(cost_usd), 0) from token_usage
        where created_at >= date_trunc('day', ${at}::timestamptz at time zone 'UTC') at time zone 'UTC') as cost_today,
      (select jsonb_agg(jsonb_build_object('workerId', w.id, 'slots', w.slots,
                 'busy', (select count(*) from worker_leases l where l.worker_id = w.id)))
         from workers w where w.active) as workers,
      (select jsonb_agg(jsonb_build_object('projectId', p.id, 'share', p.budget_share,
                 'tokens24h', (select coalesce(sum(${budgetedTokens("u")}), 0) from token_usage u
                                where u.project_id = p.id and u.created_at > ${at}::timestamptz - interval '24 hours')))
         from projects p where exists (select 1 from tasks t where t.project_id = p.id and t.status = 'ready')) as projects,
      (select jsonb_agg(jsonb_build_object('taskId', t.id, 'projectId', t.project_id, 'workerId', t.worker_id,
                 'lane', t.priority, 'readySince', t.status_since, 'revision', t.revision_count > 0) order by t.priority, t.status_since)
         from tasks t where t.status = 'ready' and t.worker_id is not null) as ready`);
  const [row] = rowsOf<Row>(result);
  if (!row) throw new Error("readSnapshot: no row");
  const tokensToday = Number(row.tokens_today);
  const costToday = Number(row.cost_today);
  const remainingTokens = budget.dailyTokens - tokensToday;
  const remainingCost =
    budget.dailyCostUsd === undefined ? Number.POSITIVE_INFINITY : budget.dailyCostUsd - costToday;
  // What is left of the cost cap, in tokens at today's cost per token: the scheduler limits its
  // leases near the cap by tokens, so the nearer of the two caps is what it must see. Before any
  // paid token today the rate is unknown and the token cap alone counts.
  const perToken = tokensToday > 0 && costToday > 0 ? costToday / tokensToday : 0;
  const tokensByCost = perToken > 0 ? Math.floor(remainingCost / perToken) : Number.POSITIVE_INFINITY;
  return {
    now: now.getTime(),
    paused: row.paused === true,
    budgetPauseDay: row.budget_pause_day,
    // Either cap spent closes the gate.
    budgetRemaining: remainingCost > 0 ? Math.max(0, Math.min(remainingTokens, tokensByCost)) : 0,
    workers: (row.workers ?? []).map((w) => ({ ...w, slots: Number(w.slots), busy: Number(w.busy) })),
    projects: (row.projects ?? []).map((p) => ({
      ...p,
      share: Number(p.share),
      tokens24h: Number(p.tokens24h),
    })),
    ready: (row.ready ?? []).map((t) => ({
      ...t,
      lane: Number(t.lane),
      readySince: Date.parse(t.readySince),
    })),
    tokensToday,
    costToday,
  };
}
