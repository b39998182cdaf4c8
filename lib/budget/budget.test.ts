// Budgets: the pure status (caps, warning levels), the one-query read, and warnings raised once per
// level per day with one outbox row each.
import { eq, like } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox, tokenUsage } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { budgetFrom, readBudget } from "./status.ts";
import { raiseBudgetWarnings } from "./warn.ts";

const t = useTestDb();
const limits = { dailyTokens: 1000, taskTokens: 300 };

describe("budgetFrom", () => {
  it("names the crossed warning levels and the spent caps", () => {
    expect(
      budgetFrom(limits, "2026-12-01", { tokensToday: 790, costToday: 0, taskTokens: 0 }).warnings,
    ).toEqual([]);
    expect(
      budgetFrom(limits, "2026-12-01", { tokensToday: 800, costToday: 0, taskTokens: 0 }).warnings,
    ).toEqual([80]);
    const s = budgetFrom(limits, "2026-12-01", { tokensToday: 1000, costToday: 0, taskTokens: 300 });
    expect(s).toMatchObject({ warnings: [80, 95], dailySpent: true, taskSpent: true });
    const cost = budgetFrom({ ...limits, dailyCostUsd: 2 }, "d", {
      tokensToday: 10,
      costToday: 2.5,
      taskTokens: 0,
    });
    expect(cost.dailySpent).toBe(true);
  });

  it("warns on the cost cap when it is nearer than the token cap", () => {
    const capped = { ...limits, dailyCostUsd: 2 };
    const at = (costToday: number) =>
      budgetFrom(capped, "d", { tokensToday: 10, costToday, taskTokens: 0 }).warnings;
    expect(at(1.5)).toEqual([]);
    expect(at(1.6)).toEqual([80]);
    expect(at(1.9)).toEqual([80, 95]);
    // Without a cost cap, cost never warns.
    expect(budgetFrom(limits, "d", { tokensToday: 10, costToday: 99, taskTokens: 0 }).warnings).toEqual([]);
  });
});

describe("readBudget and raiseBudgetWarnings", () => {
  it("reads today's and the task's usage, and warns once per level per day", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    const day = new Date(Date.UTC(2031, 0, 15, 12));
    await db.insert(tokenUsage).values([
      { taskId: task.id, provider: "anthropic", model: "m", tokensIn: 600, tokensOut: 250, at: day },
      {
        provider: "anthropic",
        model: "m",
        tokensIn: 10,
        tokensOut: 0,
        at: new Date(Date.UTC(2031, 0, 14, 12)),
      },
    ]);
    const status = await readBudget(db, limits, day, task.id);
    expect(status).toMatchObject({
      day: "2031-01-15",
      tokensToday: 850,
      taskTokens: 850,
      taskSpent: true,
      warnings: [80],
    });
    expect(await raiseBudgetWarnings(db, status, limits)).toHaveLength(1);
    expect(await raiseBudgetWarnings(db, status, limits)).toHaveLength(0);
    const rows = await db.select().from(outbox).where(like(outbox.eventId, "budget-warning:2031-01-15:%"));
    expect(rows.map((r) => r.eventId)).toEqual(["budget-warning:2031-01-15:80"]);
    await db.delete(tokenUsage).where(eq(tokenUsage.model, "m"));
  });

  it("counts cache writes (input the model read for the first time) and leaves cache reads to the cost", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    const day = new Date(Date.UTC(2031, 1, 10, 12));
    // Turn 1 writes the dossier to the cache; turn 2 reads it back and adds a little.
    await db.insert(tokenUsage).values([
      {
        taskId: task.id,
        provider: "anthropic",
        model: "mc",
        tokensIn: 20,
        tokensOut: 60,
        cacheWriteTokens: 400,
        at: day,
      },
      {
        taskId: task.id,
        provider: "anthropic",
        model: "mc",
        tokensIn: 10,
        tokensOut: 40,
        cacheReadTokens: 400,
        cacheWriteTokens: 90,
        at: day,
      },
    ]);
    const status = await readBudget(db, limits, day, task.id);
    expect(status).toMatchObject({ tokensToday: 620, taskTokens: 620, taskSpent: true });
    await db.delete(tokenUsage).where(eq(tokenUsage.model, "mc"));
  });
});
