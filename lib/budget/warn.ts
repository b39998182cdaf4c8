// Budget warnings, once per level per day: ONE statement marks the level as warned in `settings` and,
// only when that mark is new, writes `budget/warning` to the outbox. A level is crossed by the token
// cap or the cost cap, whichever is nearer (budgetFrom); the event carries both figures.
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { budgetWarning } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { BudgetLimits, BudgetStatus } from "./status.ts";

export async function raiseBudgetWarnings(
  db: AppDb,
  status: BudgetStatus,
  limits: Pick<BudgetLimits, "dailyTokens" | "dailyCostUsd">,
): Promise<OutboxMessage[]> {
  const owed: OutboxMessage[] = [];
  for (const level of status.warnings) {
    const message: OutboxMessage = {
      eventId: `budget-warning:${status.day}:${level}`,
      name: budgetWarning.name,
      data: {
        level,
        day: status.day,
        tokensToday: status.tokensToday,
        dailyTokens: limits.dailyTokens,
        ...(limits.dailyCostUsd === undefined
          ? {}
          : { costToday: status.costToday, dailyCostUsd: limits.dailyCostUsd }),
      },
    };
    const result = await db.execute(sql`
      with marked as (
        insert into settings (key, value) values (${`budget.warned.${status.day}.${level}`}, 'true'::jsonb)
        on conflict (key) do nothing
        returning key
      ),
      ob as (
        insert into outbox (event_id, name, data)
        select ${message.eventId}, ${message.name}, ${toJsonb(message.data)}::jsonb from marked
        on conflict (event_id) do nothing
      )
      select count(*)::int as n from marked`);
    if ((rowsOf<{ n: number }>(result)[0]?.n ?? 0) > 0) owed.push(message);
  }
  return owed;
}
