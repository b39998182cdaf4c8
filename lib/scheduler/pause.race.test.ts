// A person's pause racing the budget's, on real PostgreSQL (PGlite runs one statement at a time): the
// budget's pause is held open in a transaction while the person's statement starts and waits on the
// flag's row lock; once the budget's commits, the person's must still take the pause over — clear
// the day's mark and announce `over: "budget"` — or the next UTC day lifts a pause a person set.
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { settings } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { BUDGET_DAY_KEY, pauseScheduler } from "./pause.ts";
import { readPauseState } from "./pause-state.ts";

const t = useTestDb();

async function waitForLockWait(db: AppDb): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await db.execute(sql`
      select count(*)::int as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock'`);
    if (((r as unknown as { rows: { n: number }[] }).rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the person's pause never waited on the budget's lock");
}

describe.runIf(onPostgres)("a person's pause racing the budget's (real Postgres)", () => {
  it("takes the pause over when the budget's commits while it waits", async () => {
    const db = t.current.db;
    const client = new pg.Client({ connectionString: t.current.url });
    await client.connect();
    try {
      await client.query("begin");
      const budget = await pauseScheduler(drizzle({ client }) as unknown as AppDb, {
        reason: "daily token budget spent",
        actor: "fn:schedule",
        now: new Date(Date.now() - 1_000),
        budgetDay: "2031-03-09",
      });
      expect(budget.changed).toBe(true);

      const person = pauseScheduler(db, { reason: "CRM maintenance", actor: "api:dana", now: new Date() });
      await waitForLockWait(db);
      await client.query("commit");

      const taken = await person;
      expect(taken.changed).toBe(true);
      expect(taken.outbox[0]?.data).toEqual({ reason: "CRM maintenance", actor: "api:dana", over: "budget" });
    } finally {
      await client.end();
    }
    const [mark] = await db.select().from(settings).where(eq(settings.key, BUDGET_DAY_KEY));
    expect(mark?.value).toBeNull();
    expect(await readPauseState(db)).toMatchObject({ paused: true, actor: "api:dana", budgetDay: null });
  });
});
