// Where today's tokens went: the token ledger since midnight UTC (the day readBudget counts), summed
// by project and by tier and provider, in ONE query — what the budget command shows beside the totals.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { budgetedTokens } from "./status.ts";

export interface SpendLine {
  /** A project id, or `<tier>/<provider>`; `(none)` for calls made for no project. */
  key: string;
  calls: number;
  tokens: number;
  costUsd: number;
}

export interface SpendBreakdown {
  byProject: SpendLine[];
  byTier: SpendLine[];
}

type Row = {
  dim: "project" | "tier";
  key: string;
  calls: string | number;
  tokens: string | number;
  cost: string;
};

export async function readSpendBreakdown(db: AppDb, now: Date): Promise<SpendBreakdown> {
  const since = `${now.toISOString().slice(0, 10)}T00:00:00Z`;
  const result = await db.execute(sql`
    select 'project' as dim, coalesce(project_id, '(none)') as key, count(*) as calls,
           sum(${budgetedTokens()}) as tokens, sum(cost_usd)::text as cost
      from token_usage where created_at >= ${since}::timestamptz group by project_id
    union all
    select 'tier', tier || '/' || provider, count(*), sum(${budgetedTokens()}), sum(cost_usd)::text
      from token_usage where created_at >= ${since}::timestamptz group by tier, provider
    order by 1, 4 desc, 2`);
  const out: SpendBreakdown = { byProject: [], byTier: [] };
  for (const r of rowsOf<Row>(result)) {
    const line = { key: r.key, calls: Number(r.calls), tokens: Number(r.tokens), costUsd: Number(r.cost) };
    (r.dim === "project" ? out.byProject : out.byTier).push(line);
  }
  return out;
}
