// schedule over a real database: ready tasks are leased up to the worker's slots (agent run, slot
// lease, current run and expiry written with the move; task/dispatched sent), a paused scheduler or a
// spent budget leases nothing, and a breach pauses once with one alert. On PostgreSQL, 20 racing
// leases of one single-slot worker: exactly one wins.
import { eq, inArray, sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { agentRuns, settings, tasks, tokenUsage, workerLeases, workers } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { budgetLimits } from "../lib/budget/status.ts";
import { newId } from "../lib/ids.ts";
import { leaseTask, releaseLease } from "../lib/scheduler/lease.ts";
import { BUDGET_DAY_KEY, pauseScheduler } from "../lib/scheduler/pause.ts";
import { readSnapshot } from "../lib/scheduler/snapshot.ts";
import { GuardFailedError } from "../lib/tasks/errors.ts";
import { addNote } from "../lib/tasks/note.ts";
import { onPostgres, useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { schedule } from "./schedule.ts";

const t = useTestDb();
const tick = { name: "inngest/scheduled.timer", data: { cron: "* * * * *" } };

async function freshWorker(db: AppDb, slots: number) {
  const id = `w_${newId("wkr").slice(-8)}`;
  await db.insert(workers).values({ id, name: id, agentType: "crm", slots });
  return id;
}
const setPaused = (db: AppDb, paused: boolean) =>
  db.update(settings).set({ value: paused }).where(eq(settings.key, "scheduler.paused"));

beforeEach(async () => {
  const db = t.current.db;
  await setPaused(db, false);
  await db.execute(sql`update settings set value = 'null'::jsonb where key = ${BUDGET_DAY_KEY}`);
  // Each test starts with every slot free and no ready task left over.
  await db.delete(workerLeases);
  await db.update(tasks).set({ status: "cancelled" }).where(eq(tasks.status, "ready"));
});

describe("schedule", () => {
  it("leases ready tasks up to the worker's free slots, writing the run and lease with the move", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 2);
    const ready = [];
    for (let lane = 0; lane < 3; lane++)
      ready.push(await insertTask(db, { status: "ready", workerId: worker, priority: lane }));
    const { deps, events } = testDeps(db);
    const res = await runFunction(schedule, { deps, event: tick });
    expect(res.error).toBeUndefined();
    expect((res.result as { leased: string[] }).leased).toEqual([ready[0]?.id, ready[1]?.id]); // P0, P1; P2 waits
    const rows = await db
      .select()
      .from(tasks)
      .where(
        inArray(
          tasks.id,
          ready.map((r) => r.id),
        ),
      );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(ready[2]?.id as string)?.status).toBe("ready");
    for (const r of ready.slice(0, 2)) {
      const row = byId.get(r.id);
      expect(row?.status).toBe("working");
      expect(row?.currentRunId).toMatch(/^run_/);
      expect(row?.leaseExpiresAt?.getTime()).toBeGreaterThan(Date.now());
      const [run] = await db
        .select()
        .from(agentRuns)
        .where(eq(agentRuns.id, row?.currentRunId as string));
      expect(run).toMatchObject({ taskId: r.id, workerId: worker, attempt: 1, status: "running" });
    }
    const leases = await db.select().from(workerLeases).where(eq(workerLeases.workerId, worker));
    expect(leases.map((l) => l.slot).sort()).toEqual([1, 2]);
    expect(
      events.sent
        .filter((e) => e.name === "task/dispatched")
        .map((e) => (e.data as { taskId: string }).taskId),
    ).toEqual([ready[0]?.id, ready[1]?.id]);

    // A released slot is leased again on the next pass.
    await releaseLease(db, byId.get(ready[0]?.id as string)?.currentRunId as string);
    const again = await runFunction(schedule, { deps, event: tick });
    expect((again.result as { leased: string[] }).leased).toEqual([ready[2]?.id]);
  });

  it("leases nothing while paused", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const task = await insertTask(db, { status: "ready", workerId: worker });
    await setPaused(db, true);
    const { deps } = testDeps(db);
    const res = await runFunction(schedule, { deps, event: tick });
    expect(res.result).toMatchObject({ leased: [], paused: true });
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("ready");
  });

  it("leases nothing more once a pause lands after the pass's snapshot", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 2);
    const a = await insertTask(db, { status: "ready", workerId: worker });
    const b = await insertTask(db, { status: "ready", workerId: worker });
    const { deps } = testDeps(db);
    // The pass read the queue unpaused; a person paused before its leases ran.
    const snapshot = await readSnapshot(db, deps.now(), budgetLimits(deps.config));
    await pauseScheduler(db, { reason: "incident: stop leasing", actor: "api:ops", now: new Date() });
    const res = await runFunction(schedule, {
      deps,
      event: tick,
      steps: [{ id: "snapshot", handler: () => snapshot }],
    });
    expect(res.result).toMatchObject({ leased: [], paused: true });
    for (const id of [a.id, b.id]) {
      expect((await db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status).toBe("ready");
    }
    expect(await db.select().from(workerLeases).where(eq(workerLeases.workerId, worker))).toEqual([]);
  });

  it("pauses once with one alert when the daily budget is spent, and leases nothing", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const task = await insertTask(db, { status: "ready", workerId: worker });
    await db.insert(tokenUsage).values({ provider: "anthropic", model: "m", tokensIn: 900, tokensOut: 200 });
    const { deps, events } = testDeps(db, { FOREMAN_DAILY_TOKEN_BUDGET: "1000" });
    const first = await runFunction(schedule, { deps, event: tick });
    expect(first.result).toMatchObject({ leased: [], paused: true });
    const second = await runFunction(schedule, { deps, event: tick });
    expect(second.result).toMatchObject({ leased: [], paused: true });
    expect(events.sent.filter((e) => e.name === "scheduler/paused")).toHaveLength(1);
    // 80 % and 95 % were crossed on the way: one warning each, however many passes ran.
    expect(
      events.sent.filter((e) => e.name === "budget/warning").map((e) => (e.data as { level: number }).level),
    ).toEqual([80, 95]);
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("ready");
    const [flag] = await db.select().from(settings).where(eq(settings.key, "scheduler.paused"));
    expect(flag?.value).toBe(true);
    await db.execute(sql`delete from token_usage`);
  });
});

describe("leases near the cost cap", () => {
  it("counts what is left of the cost cap in tokens at today's rate: the last cents start one run, not every free slot", async () => {
    const db = t.current.db;
    await db.execute(sql`delete from settings where key like 'budget.warned.%'`);
    const worker = await freshWorker(db, 8);
    for (let i = 0; i < 8; i++) await insertTask(db, { status: "ready", workerId: worker });
    // $1.99 of a $2 cap on 1,000 tokens: about 5 tokens' worth left, though the token cap is far off.
    await db.insert(tokenUsage).values({
      provider: "anthropic",
      model: "m",
      tokensIn: 900,
      tokensOut: 100,
      costUsd: "1.990000",
    });
    const { deps } = testDeps(db, {
      FOREMAN_DAILY_TOKEN_BUDGET: "1000000",
      FOREMAN_DAILY_COST_BUDGET_USD: "2",
    });
    const res = await runFunction(schedule, { deps, event: tick });
    expect((res.result as { leased: string[] }).leased).toHaveLength(1);
    await db.execute(sql`delete from token_usage`);
    await db.execute(sql`delete from settings where key like 'budget.warned.%'`);
  });
});

describe("budget warnings on the cost cap", () => {
  it("warns at 80 % of the cost cap while the tokens are far from theirs, naming the cost", async () => {
    const db = t.current.db;
    await db.execute(sql`delete from settings where key like 'budget.warned.%'`);
    await db.insert(tokenUsage).values({
      provider: "anthropic",
      model: "m",
      tokensIn: 50,
      tokensOut: 10,
      costUsd: "1.700000",
    });
    const { deps, events } = testDeps(db, {
      FOREMAN_DAILY_TOKEN_BUDGET: "1000000",
      FOREMAN_DAILY_COST_BUDGET_USD: "2",
    });
    const res = await runFunction(schedule, { deps, event: tick });
    expect(res.result).toMatchObject({ paused: false });
    const warned = events.sent.filter((e) => e.name === "budget/warning").map((e) => e.data);
    expect(warned).toEqual([
      expect.objectContaining({
        level: 80,
        tokensToday: 60,
        dailyTokens: 1_000_000,
        costToday: 1.7,
        dailyCostUsd: 2,
      }),
    ]);
    await db.execute(sql`delete from token_usage`);
    await db.execute(sql`delete from settings where key like 'budget.warned.%'`);
  });
});

describe("a budget pause ends with its day", () => {
  const DAY = 86_400_000;
  const spendToday = (db: AppDb) =>
    db.insert(tokenUsage).values({ provider: "anthropic", model: "m", tokensIn: 900, tokensOut: 200 });
  const run = (db: AppDb, at: number) => {
    const { deps, events } = testDeps(db, { FOREMAN_DAILY_TOKEN_BUDGET: "1000" });
    deps.now = () => new Date(at);
    return runFunction(schedule, { deps, event: tick }).then((r) => ({ ...r, events }));
  };

  it("is lifted on the next UTC day, which leases again and says so", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const task = await insertTask(db, { status: "ready", workerId: worker });
    await spendToday(db);
    expect((await run(db, Date.now())).result).toMatchObject({ leased: [], paused: true });
    // Later the same day: still paused.
    expect((await run(db, Date.now() + 1000)).result).toMatchObject({ leased: [], paused: true });

    const next = await run(db, Date.now() + DAY);
    expect(next.error).toBeUndefined();
    expect((next.result as { leased: string[] }).leased).toEqual([task.id]);
    const [flag] = await db.select().from(settings).where(eq(settings.key, "scheduler.paused"));
    expect(flag?.value).toBe(false);
    expect(next.events.sent.find((e) => e.name === "scheduler/resumed")?.data).toMatchObject({
      actor: "fn:schedule",
      reason: expect.stringMatching(/^a new budget day/),
    });
    await db.execute(sql`delete from token_usage`);
  });

  it("marks the day the snapshot found spent, even when the pass runs past midnight", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const task = await insertTask(db, { status: "ready", workerId: worker });
    const midnight = Date.UTC(2031, 2, 10);
    await db.insert(tokenUsage).values({
      provider: "anthropic",
      model: "m",
      tokensIn: 900,
      tokensOut: 200,
      at: new Date(midnight - 60_000),
    });
    // The snapshot reads 23:59:59.9; every later step sees the new day.
    const { deps } = testDeps(db, { FOREMAN_DAILY_TOKEN_BUDGET: "1000" });
    let calls = 0;
    deps.now = () => new Date(calls++ === 0 ? midnight - 100 : midnight + 100);
    expect((await runFunction(schedule, { deps, event: tick })).result).toMatchObject({ paused: true });
    const [mark] = await db.select().from(settings).where(eq(settings.key, BUDGET_DAY_KEY));
    expect(mark?.value).toBe("2031-03-09");
    // So the new day, which has its whole budget, lifts it.
    const next = await run(db, midnight + 3_600_000);
    expect((next.result as { leased: string[] }).leased).toEqual([task.id]);
    await db.execute(sql`delete from token_usage`);
  });

  it("never lifts a person's pause, nor a budget pause a person paused on top of", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    await insertTask(db, { status: "ready", workerId: worker });
    await pauseScheduler(db, { reason: "CRM maintenance", actor: "ops", now: new Date() });
    expect((await run(db, Date.now() + DAY)).result).toMatchObject({ leased: [], paused: true });

    await setPaused(db, false);
    await spendToday(db);
    expect((await run(db, Date.now())).result).toMatchObject({ leased: [], paused: true });
    await pauseScheduler(db, { reason: "hold everything", actor: "ops", now: new Date() });
    expect((await run(db, Date.now() + DAY)).result).toMatchObject({ leased: [], paused: true });
    await db.execute(sql`delete from token_usage`);
  });
});

describe("aging counts from the move into ready", () => {
  it("a P4 task ready for 3 hours keeps its age when a person adds a note, and goes ahead of a fresh P1", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const threeHoursAgo = new Date(Date.now() - 3 * 3600_000);
    // 180 minutes at 30 minutes a lane: P4 has aged to P0.
    const waiting = await insertTask(db, {
      status: "ready",
      workerId: worker,
      priority: 4,
      statusSince: threeHoursAgo,
      updatedAt: threeHoursAgo,
    });
    const fresh = await insertTask(db, { status: "ready", workerId: worker, priority: 1 });
    await addNote(db, waiting.id, { text: "The client asked again: still wanted." }, "ops@example.com");
    const { deps } = testDeps(db);
    const res = await runFunction(schedule, { deps, event: tick });
    expect(res.error).toBeUndefined();
    expect((res.result as { leased: string[] }).leased).toEqual([waiting.id]);
    expect((await db.select().from(tasks).where(eq(tasks.id, fresh.id)))[0]?.status).toBe("ready");
  });
});

describe("leases follow the task's worker", () => {
  it("refuses to lease a task to a worker it was reassigned away from, and leases it to its own", async () => {
    const db = t.current.db;
    const from = await freshWorker(db, 1);
    const to = await freshWorker(db, 1);
    // Planned for `from`, but the task now belongs to `to` (a reassign after the snapshot).
    const task = await insertTask(db, { status: "ready", workerId: to });
    const stale = leaseTask(db, {
      taskId: task.id,
      workerId: from,
      runId: `run_stale_${from}`,
      key: `stale:${task.id}`,
      now: new Date(),
    });
    await expect(stale).rejects.toMatchObject({ guard: "worker_assigned" });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.workerId, from))).toHaveLength(0);
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("ready");
    await leaseTask(db, {
      taskId: task.id,
      workerId: to,
      runId: `run_own_${to}`,
      key: `own:${task.id}`,
      now: new Date(),
    });
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("working");
  });
});

describe.runIf(onPostgres)("slot leases under races (real Postgres)", () => {
  it("20 concurrent leases for one single-slot worker: exactly one holds the slot", async () => {
    const db = t.current.db;
    const worker = await freshWorker(db, 1);
    const many = await Promise.all(
      Array.from({ length: 20 }, () => insertTask(db, { status: "ready", workerId: worker })),
    );
    const results = await Promise.allSettled(
      many.map((task, i) =>
        leaseTask(db, {
          taskId: task.id,
          workerId: worker,
          runId: `run_race_${worker}_${i}`,
          key: `race:${i}`,
          now: new Date(),
        }),
      ),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(GuardFailedError);
    expect(await db.select().from(workerLeases).where(eq(workerLeases.workerId, worker))).toHaveLength(1);
    const working = await db
      .select()
      .from(tasks)
      .where(
        inArray(
          tasks.id,
          many.map((m) => m.id),
        ),
      );
    expect(working.filter((w) => w.status === "working")).toHaveLength(1);
    expect(await db.select().from(agentRuns).where(eq(agentRuns.workerId, worker))).toHaveLength(1);
  });
});
