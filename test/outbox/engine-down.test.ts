// The engine is down: the (fake) Inngest event API answers 500 while 20 tasks are submitted through
// the API and a dependency is promoted. Nothing runs crons here — after the API recovers, the outbox
// drain alone delivers every owed event, each exactly once by id, and /health shows the backlog.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, taskDependencies } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { inngestSender } from "../../functions/client.ts";
import { promote } from "../../functions/promote.ts";
import { drainOutbox } from "../../lib/outbox/drain.ts";
import { toEvent } from "../../lib/outbox/message.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { type FakeInngest, startFakeInngest } from "../fakes/inngest.ts";
import { freshKey, insertTask } from "../fixtures.ts";
import { runFunction } from "../inngest.ts";

const t = useTestDb();
let engine: FakeInngest;
beforeAll(async () => {
  engine = await startFakeInngest();
});
afterAll(async () => {
  await engine?.close();
});

type Json = Record<string, any>;

/** The app on the fake engine, taking events, with every row earlier tests left pending marked sent. */
async function withOnlyNewRows(db: AppDb) {
  const api = testApp(db, { INNGEST_DEV: engine.url }, { events: inngestSender });
  engine.eventsUp();
  await db.execute(sql`update outbox set sent_at = now() where sent_at is null and abandoned_at is null`);
  return api;
}

/** One drain while the engine answers requests matching `fault` as it says. */
async function drainWhile(api: ReturnType<typeof testApp>, fault: Parameters<FakeInngest["fail"]>[0]) {
  engine.fail(fault);
  try {
    return await drainOutbox(api.deps);
  } finally {
    engine.clearFaults();
  }
}

describe("outbox while the engine is down", () => {
  it("delivers every event exactly once after recovery, by the drain alone", async () => {
    const db = t.current.db;
    const api = testApp(db, { INNGEST_DEV: engine.url }, { events: inngestSender });
    const later = (minutes: number) => () => new Date(Date.now() + minutes * 60_000);
    engine.eventsDown();

    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.request("/api/tasks", { method: "POST", json: { title: `offline ${i}` } }),
      ),
    );
    const submitted: string[] = [];
    for (const res of responses) {
      expect(res.status).toBe(201);
      const body = (await res.json()) as Json;
      expect(body.warnings?.[0]).toContain("queued");
      submitted.push(body.task.id);
    }

    // A dependency finishes and promote runs while the engine is still down.
    const dep = await insertTask(db, { status: "awaiting_client_review" });
    const dependent = await insertTask(db, { status: "intake", triagedAt: new Date() });
    await db.insert(taskDependencies).values({ taskId: dependent.id, dependsOnId: dep.id });
    const finished = await transition(db, { taskId: dep.id, to: "done", key: freshKey(), actor: "client" });
    const run = await runFunction(promote, {
      deps: api.deps,
      event: toEvent(finished.outbox[0] as (typeof finished.outbox)[number]) as never,
    });
    expect(run.result).toEqual({ promoted: [dependent.id] });
    expect(engine.delivered.size).toBe(0);

    const health = (await (await api.app.request("/health")).json()) as Json;
    expect(health.outbox.pending).toBe(20 + 1 + 2);
    expect(health.outbox.oldest_pending_seconds).toEqual(expect.any(Number));

    // Still down: a drain tick fails, loses nothing and backs off.
    const failed = await drainOutbox({ ...api.deps, now: later(10) });
    expect(failed).toMatchObject({ sent: 0, failed: expect.any(Number) });
    expect(engine.delivered.size).toBe(0);

    engine.eventsUp();
    const drained = await drainOutbox({ ...api.deps, now: later(30) });
    expect(drained.error).toBeUndefined();

    const expected = [
      ...submitted.map((id) => `task-submitted:${id}`),
      `state-changed:${dep.id}:1`,
      `state-changed:${dependent.id}:1`,
      `task-ready:${dependent.id}:1`,
    ].sort();
    expect([...engine.delivered.keys()].sort()).toEqual(expected);
    for (const [id, n] of engine.delivered) expect(n, id).toBe(1);
    expect(engine.deliveredNames.get(`task-ready:${dependent.id}:1`)).toBe("task/ready");

    // Nothing is pending; another drain sends nothing again.
    const pending = await db.select().from(outbox).where(sql`${outbox.sentAt} is null`);
    expect(pending).toHaveLength(0);
    await drainOutbox({ ...api.deps, now: later(40) });
    for (const [id, n] of engine.delivered) expect(n, id).toBe(1);
    const after = (await (await api.app.request("/health")).json()) as Json;
    expect(after.outbox).toEqual({ pending: 0, oldest_pending_seconds: null, abandoned: 0 });
  });

  it("reports rows older than the dedup window instead of re-sending them, and prunes old sent rows", async () => {
    const db = t.current.db;
    const api = testApp(db, { INNGEST_DEV: engine.url }, { events: inngestSender });
    engine.eventsUp();
    engine.delivered.clear();
    await db.insert(outbox).values([
      {
        eventId: "stale-1",
        name: "task/ready",
        data: { taskId: "task_x" },
        createdAt: new Date(Date.now() - 25 * 3600_000),
      },
      {
        eventId: "old-sent-1",
        name: "task/ready",
        data: { taskId: "task_y" },
        createdAt: new Date(Date.now() - 9 * 86400_000),
        sentAt: new Date(Date.now() - 8 * 86400_000),
      },
    ]);
    const res = await drainOutbox(api.deps, { retentionDays: 7 });
    expect(res.abandoned).toEqual(["stale-1"]);
    expect(res.pruned).toBe(1);
    expect(engine.delivered.has("stale-1")).toBe(false);
    expect(await db.select().from(outbox).where(eq(outbox.eventId, "old-sent-1"))).toHaveLength(0);
    const health = (await (await api.app.request("/health")).json()) as Json;
    expect(health.outbox.abandoned).toBe(1);
  });

  it("takes a row written within the drain clock's millisecond (the database counts microseconds)", async () => {
    const db = t.current.db;
    const api = await withOnlyNewRows(db);
    const clock = new Date("2026-12-04T10:00:00.000Z");
    await db.execute(sql`
      insert into outbox (event_id, name, data, created_at, next_attempt_at)
      values ('same-ms', 'task/ready', '{"taskId":"task_same_ms"}'::jsonb,
              '2026-12-04T09:59:59.000Z', '2026-12-04T10:00:00.000400Z')`);
    expect(await drainOutbox({ ...api.deps, now: () => clock })).toMatchObject({ sent: 1, failed: 0 });
    expect(engine.delivered.has("same-ms")).toBe(true);
  });

  it("dates each batch's claim from that batch, not from the drain's start", async () => {
    const db = t.current.db;
    const api = await withOnlyNewRows(db);
    await db.insert(outbox).values([
      { eventId: "claim-1", name: "task/ready", data: { taskId: "task_c1" } },
      { eventId: "claim-2", name: "task/ready", data: { taskId: "task_c2" } },
    ]);
    // A slow drain: every reading of the clock is 50 s after the last.
    let ticks = 0;
    const clock = () => new Date(Date.now() + 60_000 + 50_000 * ticks++);
    expect(await drainOutbox({ ...api.deps, now: clock }, { batchSize: 1, maxBatches: 2 })).toMatchObject({
      sent: 2,
    });
    const rows = await db.select().from(outbox).where(sql`${outbox.eventId} like 'claim-%'`);
    const claimEnd = new Map(rows.map((r) => [r.eventId, r.nextAttemptAt.getTime()]));
    expect((claimEnd.get("claim-2") ?? 0) - (claimEnd.get("claim-1") ?? 0)).toBeGreaterThanOrEqual(50_000);
  });

  it("sets aside a row that can never be sent — invalid, or refused by the engine alone — and sends the rest", async () => {
    const db = t.current.db;
    const api = await withOnlyNewRows(db);
    engine.delivered.clear();
    await db.insert(outbox).values([
      { eventId: "poison-ok-1", name: "task/ready", data: { taskId: "task_ok1" } },
      { eventId: "poison-bad", name: "task/ready", data: { taskId: "" } },
      { eventId: "poison-ok-2", name: "task/ready", data: { taskId: "task_ok2" } },
      { eventId: "poison-refused", name: "task/ready", data: { taskId: "task_refused" } },
      { eventId: "poison-ok-3", name: "task/ready", data: { taskId: "task_ok3" } },
    ]);
    // The engine refuses any request carrying this one event (as it does an event it cannot take).
    expect(
      await drainWhile(api, {
        match: (c) => c.path.startsWith("/e/") && c.body.includes("poison-refused"),
        status: 400,
        body: { error: "event data is not valid", status: 400 },
      }),
    ).toMatchObject({ sent: 3, failed: 0 });
    expect([...engine.delivered.keys()].filter((id) => id.startsWith("poison")).sort()).toEqual([
      "poison-ok-1",
      "poison-ok-2",
      "poison-ok-3",
    ]);
    const rows = await db.select().from(outbox).where(sql`${outbox.eventId} like 'poison-%'`);
    const byId = new Map(rows.map((r) => [r.eventId, r]));
    expect(byId.get("poison-bad")).toMatchObject({
      sentAt: null,
      lastError: expect.stringContaining("invalid event"),
    });
    expect(byId.get("poison-bad")?.abandonedAt).toBeInstanceOf(Date);
    expect(byId.get("poison-refused")).toMatchObject({
      sentAt: null,
      lastError: expect.stringContaining("the engine refused it (400)"),
    });
    expect(byId.get("poison-refused")?.abandonedAt).toBeInstanceOf(Date);
    // Set aside, not pending: the next drain has nothing more to try.
    expect(await drainOutbox(api.deps)).toMatchObject({ sent: 0, failed: 0 });

    // A 400 for every request (a proxy in the way) says nothing about any one row: all stay pending.
    await db.insert(outbox).values([
      { eventId: "blocked-1", name: "task/ready", data: { taskId: "task_b1" } },
      { eventId: "blocked-2", name: "task/ready", data: { taskId: "task_b2" } },
    ]);
    expect(
      await drainWhile(api, {
        match: (c) => c.path.startsWith("/e/"),
        status: 400,
        body: "<html>Bad Request</html>",
      }),
    ).toMatchObject({ sent: 0, failed: 2 });
    const blocked = await db.select().from(outbox).where(sql`${outbox.eventId} like 'blocked-%'`);
    expect(blocked.map((r) => [r.abandonedAt, r.sentAt])).toEqual([
      [null, null],
      [null, null],
    ]);
  });

  it("records a refusal whose text PostgreSQL cannot store (a NUL) on the rows all the same", async () => {
    const db = t.current.db;
    const api = await withOnlyNewRows(db);
    await db.insert(outbox).values([
      { eventId: "nul-ok", name: "task/ready", data: { taskId: "task_nul_ok" } },
      { eventId: "nul-refused", name: "task/ready", data: { taskId: "task_nul_refused" } },
    ]);
    expect(
      await drainWhile(api, {
        match: (c) => c.path.startsWith("/e/") && c.body.includes("nul-refused"),
        status: 400,
        body: { error: "bad byte \u0000 in event", status: 400 },
      }),
    ).toMatchObject({ sent: 1, failed: 0 });
    const [refused] = await db.select().from(outbox).where(eq(outbox.eventId, "nul-refused"));
    expect(refused?.abandonedAt).toBeInstanceOf(Date);
    expect(refused?.lastError).toContain("the engine refused it (400)");

    // Every request refused: the rows keep a backoff, with the error recorded.
    await db
      .insert(outbox)
      .values({ eventId: "nul-blocked", name: "task/ready", data: { taskId: "task_nb" } });
    expect(
      await drainWhile(api, {
        match: (c) => c.path.startsWith("/e/"),
        status: 400,
        body: { error: "bad byte \u0000 here", status: 400 },
      }),
    ).toMatchObject({ sent: 0, failed: 1 });
    const [blocked] = await db.select().from(outbox).where(eq(outbox.eventId, "nul-blocked"));
    expect(blocked).toMatchObject({ attempts: 1, abandonedAt: null, sentAt: null });
    expect(blocked?.lastError).toContain("bad byte");
  });
});
