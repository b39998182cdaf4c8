// Budgets: how much of today's token (and cost) budget is spent, how much of the task's own cap, in
// ONE query; which warning levels (80 %, 95 %) are crossed. The scheduler checks the day before it
// leases; the worker checks both between turns.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";

export interface BudgetLimits {
  dailyTokens: number;
  dailyCostUsd?: number | undefined;
  taskTokens: number;
}

/** The limits config sets, read in one place (a caller checking only the day ignores `taskTokens`). */
export const budgetLimits = (
  config: Pick<
    Config,
    "FOREMAN_DAILY_TOKEN_BUDGET" | "FOREMAN_DAILY_COST_BUDGET_USD" | "FOREMAN_TASK_TOKEN_CAP"
  >,
): BudgetLimits => ({
  dailyTokens: config.FOREMAN_DAILY_TOKEN_BUDGET,
  dailyCostUsd: config.FOREMAN_DAILY_COST_BUDGET_USD,
  taskTokens: config.FOREMAN_TASK_TOKEN_CAP,
});

export interface BudgetStatus {
  day: string;
  tokensToday: number;
  costToday: number;
  taskTokens: number;
  /** Today's budget is spent (tokens or cost). */
  dailySpent: boolean;
  /** The task used its own cap. */
  taskSpent: boolean;
  /** Warning levels crossed today. */
  warnings: (80 | 95)[];
}

export const WARNING_LEVELS = [80, 95] as const;

/**
 * SQL: the tokens a token_usage row counts against the token budgets and fair share — what the model
 * read for the first time (uncached input and cache writes: turn 1's dossier is a cache write) plus
 * its output. Cache reads, the same prefix read again each turn at a tenth of the price, are left to
 * the cost budget, as the provider's rate limits leave them. One copy for every budget figure.
 */
export const budgetedTokens = (alias?: string) => {
  const p = alias ? `${alias}.` : "";
  return sql.raw(`(${p}tokens_in + ${p}tokens_out + ${p}cache_write_tokens)`);
};

/** Today's tokens as a percentage of the token cap (a zero cap is spent). */
export const tokenShare = (dailyTokens: number, tokensToday: number): number =>
  dailyTokens > 0 ? (tokensToday / dailyTokens) * 100 : 100;

/** Today's cost as a percentage of the cost cap, or undefined without one. */
export function costShare(dailyCostUsd: number | undefined, costToday: number): number | undefined {
  if (dailyCostUsd === undefined) return undefined;
  return dailyCostUsd > 0 ? (costToday / dailyCostUsd) * 100 : 100;
}

/** Pure: the status from the raw numbers. */
export function budgetFrom(
  limits: BudgetLimits,
  day: string,
  used: { tokensToday: number; costToday: number; taskTokens: number },
): BudgetStatus {
  // A warning level counts for whichever cap is nearer: tokens, or cost when a cost cap is set.
  const share = Math.max(
    tokenShare(limits.dailyTokens, used.tokensToday),
    costShare(limits.dailyCostUsd, used.costToday) ?? 0,
  );
  const costSpent = limits.dailyCostUsd !== undefined && used.costToday >= limits.dailyCostUsd;
  return {
    day,
    ...used,
    dailySpent: used.tokensToday >= limits.dailyTokens || costSpent,
    taskSpent: used.taskTokens >= limits.taskTokens,
    warnings: WARNING_LEVELS.filter((level) => share >= level),
  };
}

export async function readBudget(
  db: AppDb,
  limits: BudgetLimits,
  now: Date,
  taskId?: string,
): Promise<BudgetStatus> {
  const at = now.toISOString();
  const day = at.slice(0, 10);
  const result = await db.execute(sql`
    select coalesce(sum(${budgetedTokens()}) filter (where created_at >= ${`${day}T00:00:00Z`}::timestamptz), 0) as tokens_today,
           coalesce(sum(cost_usd) filter (where created_at >= ${`${day}T00:00:00Z`}::timestamptz), 0) as cost_today,
           -- The task's cap counts from a person's latest retry out of triage: a retry of a task that
           -- hit its cap is the decision to give it more, not a run that stops again at its first turn.
           coalesce(sum(${budgetedTokens()}) filter (
             where task_id = ${taskId ?? null}::text
               and created_at > coalesce((select max(e.created_at) from task_events e
                                           where e.task_id = ${taskId ?? null}::text and e.kind = 'state_changed'
                                             and e.payload->>'from' = 'failed_needs_triage'
                                             and e.payload->>'to' = 'ready'), '-infinity'::timestamptz)), 0) as task_tokens
      from token_usage
     where created_at >= ${`${day}T00:00:00Z`}::timestamptz or task_id = ${taskId ?? null}::text`);
  const [row] = rowsOf<Record<string, string | number>>(result);
  return budgetFrom(limits, day, {
    tokensToday: Number(row?.tokens_today ?? 0),
    costToday: Number(row?.cost_today ?? 0),
    taskTokens: Number(row?.task_tokens ?? 0),
  });
}
