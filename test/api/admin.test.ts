// The operator's views and switches over the in-process app: workers with slots and leases, today's
// budget and where it went, failures by class with hints, and pause / resume (one alert per flip,
// naming the caller) — each behind the bearer token.
import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { outbox, projects, settings, tokenUsage, workers } from "../../db/schema/index.ts";
import { FAILURE_HINTS } from "../../lib/failures.ts";
import { newId } from "../../lib/ids.ts";
import { leaseTask } from "../../lib/scheduler/lease.ts";
import { BUDGET_DAY_KEY, pauseScheduler } from "../../lib/scheduler/pause.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey, insertTask } from "../fixtures.ts";

const t = useTestDb();
let api: ReturnType<typeof testApp>;
beforeEach(() => {
  api = testApp(t.current.db, { FOREMAN_DAILY_TOKEN_BUDGET: "10000", FOREMAN_DAILY_COST_BUDGET_USD: "5" });
});
type Json = Record<string, any>;
const get = async (path: string) => {
  const res = await api.request(path);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};
const post = (path: string, json?: unknown, headers: Record<string, string> = {}) =>
  api.request(path, { method: "POST", headers, ...(json === undefined ? {} : { json }) });

describe("GET /api/admin/workers", () => {
  it("lists every worker with its slots, the leases holding them and the ready tasks queued for it", async () => {
    const db = t.current.db;
    const id = `w-${newId("wkr").slice(-8)}`;
    await db
      .insert(workers)
      .values({ id, name: "Writer", agentType: "writer", slots: 2, tools: ["crm.read"] });
    const running = await insertTask(db, { status: "ready", workerId: id, title: "running one" });
    const runId = newId("run");
    const now = new Date();
    await leaseTask(db, { taskId: running.id, workerId: id, runId, key: freshKey(), now, leaseMinutes: 30 });
    await insertTask(db, { status: "ready", workerId: id });
    await insertTask(db, { status: "intake", workerId: id });

    const body = await get("/api/admin/workers");
    expect(body.workers.map((w: Json) => w.id)).toEqual([...body.workers.map((w: Json) => w.id)].sort());
    const w = body.workers.find((x: Json) => x.id === id);
    expect(w).toMatchObject({
      name: "Writer",
      agent_type: "writer",
      model_tier: "primary",
      tools: ["crm.read"],
      active: true,
      slots: 2,
      busy: 1,
      queued: 1,
      leases: [{ slot: 1, task_id: running.id, task_title: "running one", run_id: runId, lapsed: false }],
    });
    expect(Date.parse(w.leases[0].expires_at) - now.getTime()).toBe(30 * 60_000);
    expect(body.workers.find((x: Json) => x.id === "crm-setup")).toMatchObject({ busy: 0, leases: [] });
  });
});

describe("GET /api/admin/budget", () => {
  it("reports today's tokens and cost against the budget, by project and by tier, and the pause flag", async () => {
    const db = t.current.db;
    const now = new Date("2026-03-10T12:00:00Z");
    api.deps.now = () => now;
    const project = `proj_${newId("proj").slice(5)}`;
    await db.insert(projects).values({ id: project, name: project });
    const hour = (h: number) => new Date(now.getTime() + h * 3_600_000);
    await db.insert(tokenUsage).values([
      {
        provider: "anthropic",
        model: "m",
        tier: "primary",
        projectId: project,
        tokensIn: 5000,
        tokensOut: 1000,
        costUsd: "1.5",
        at: hour(-1),
      },
      {
        provider: "bridge",
        model: "l",
        tier: "local",
        projectId: project,
        tokensIn: 1500,
        tokensOut: 500,
        costUsd: "0",
        at: hour(-2),
      },
      {
        provider: "anthropic",
        model: "m",
        tier: "primary",
        tokensIn: 400,
        tokensOut: 100,
        costUsd: "0.25",
        at: hour(-3),
      },
      // Yesterday: not today's.
      {
        provider: "anthropic",
        model: "m",
        tier: "primary",
        projectId: project,
        tokensIn: 9000,
        tokensOut: 0,
        costUsd: "9",
        at: hour(-13),
      },
    ]);
    const body = await get("/api/admin/budget");
    expect(body).toMatchObject({
      day: "2026-03-10",
      tokens: { used: 8500, limit: 10000, share_pct: 85 },
      cost: { used_usd: 1.75, limit_usd: 5 },
      task_token_cap: 250000,
      spent: false,
      warnings: [80],
      scheduler: { paused: false },
      by_project: [
        { key: project, calls: 2, tokens: 8000, cost_usd: 1.5 },
        { key: "(none)", calls: 1, tokens: 500, cost_usd: 0.25 },
      ],
      by_tier: [
        { key: "primary/anthropic", calls: 2, tokens: 6500, cost_usd: 1.75 },
        { key: "local/bridge", calls: 1, tokens: 2000, cost_usd: 0 },
      ],
    });
  });
});

describe("GET /api/admin/failures", () => {
  it("counts the tasks in triage per class with the hint and the latest examples", async () => {
    const db = t.current.db;
    const project = `proj_${newId("proj").slice(5)}`;
    await db.insert(projects).values({ id: project, name: project });
    const fail = (failureClass: "auth" | "timeout" | null, statusReason: string, title: string) =>
      insertTask(db, {
        projectId: project,
        status: "failed_needs_triage",
        failureClass,
        statusReason,
        title,
      });
    const a1 = await fail("auth", "auth: key revoked", "a1");
    const a2 = await fail("auth", "auth: 401", "a2");
    const t1 = await fail("timeout", "timeout: stuck", "t1");
    // Failed before tasks.failure_class existed: classed from its reason.
    const legacy = await fail(null, "401 unauthorized from the CRM", "legacy");
    await insertTask(db, { projectId: project, status: "ready", failureClass: "auth" }); // retried: not in triage

    const body = await get(`/api/admin/failures?project=${project}`);
    expect(body.total).toBe(4);
    expect(body.classes.map((c: Json) => [c.class, c.count, c.hint])).toEqual([
      ["auth", 3, FAILURE_HINTS.auth],
      ["timeout", 1, FAILURE_HINTS.timeout],
    ]);
    expect(body.classes[0].tasks.map((x: Json) => x.id).sort()).toEqual([a1.id, a2.id, legacy.id].sort());
    expect(body.classes[1].tasks).toEqual([{ id: t1.id, title: "t1" }]);
    expect((await get(`/api/admin/failures?project=${project}&examples=1`)).classes[0].tasks).toHaveLength(1);

    const bad = await api.request("/api/admin/failures?examples=500");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.field).toBe("query.examples");
  });
});

describe("pause and resume", () => {
  it("flips the flag once each way, naming the caller, and says when nothing changed", async () => {
    const res = await post("/api/admin/pause", { reason: "migrating the CRM" }, { "foreman-actor": "dana" });
    expect(res.status).toBe(200);
    expect((await res.json()) as Json).toMatchObject({
      changed: true,
      paused: true,
      reason: "migrating the CRM",
      actor: "api:dana",
    });
    expect(api.events.sent).toEqual([
      expect.objectContaining({
        name: "scheduler/paused",
        data: { reason: "migrating the CRM", actor: "api:dana" },
      }),
    ]);
    const [flag] = await t.current.db.select().from(settings).where(eq(settings.key, "scheduler.paused"));
    expect(flag?.value).toBe(true);
    expect(await get("/api/admin/scheduler")).toMatchObject({ paused: true, reason: "migrating the CRM" });
    expect((await get("/api/admin/budget")).scheduler).toMatchObject({ paused: true, actor: "api:dana" });

    const again = (await (await post("/api/admin/pause")).json()) as Json;
    expect(again).toMatchObject({ changed: false, paused: true });
    expect(api.events.sent).toHaveLength(1);

    const resumed = (await (await api.request("/api/admin/resume", { method: "POST" })).json()) as Json;
    expect(resumed).toMatchObject({ changed: true, paused: false, reason: null });
    expect(api.events.sent[1]).toMatchObject({ name: "scheduler/resumed", data: { actor: "api" } });
    expect(((await (await post("/api/admin/resume", {})).json()) as Json).changed).toBe(false);
    expect(api.events.sent).toHaveLength(2);

    // Paused again the same day for the same reason: a new pause, so a new alert (a new event id).
    await post("/api/admin/pause", { reason: "migrating the CRM" }, { "foreman-actor": "dana" });
    const pauses = api.events.sent.filter((e) => e.name === "scheduler/paused");
    expect(pauses).toHaveLength(2);
    expect(new Set(pauses.map((e) => e.id)).size).toBe(2);
    await api.request("/api/admin/resume", { method: "POST" });
  });

  it("a person's pause over the budget's takes it over: recorded, announced, and no longer lifted by a new day", async () => {
    const db = t.current.db;
    const budget = await pauseScheduler(db, {
      reason: "daily token budget spent",
      actor: "fn:schedule",
      now: new Date(Date.now() - 60_000),
      budgetDay: "2031-03-09",
    });
    expect(budget.changed).toBe(true);
    expect(await get("/api/admin/scheduler")).toMatchObject({
      paused: true,
      actor: "fn:schedule",
      budget_day: "2031-03-09",
    });

    const res = await post("/api/admin/pause", { reason: "CRM maintenance" }, { "foreman-actor": "dana" });
    expect((await res.json()) as Json).toMatchObject({
      changed: true,
      paused: true,
      reason: "CRM maintenance",
      actor: "api:dana",
      budget_day: null,
    });
    expect(api.events.sent).toEqual([
      expect.objectContaining({
        name: "scheduler/paused",
        data: { reason: "CRM maintenance", actor: "api:dana", over: "budget" },
      }),
    ]);
    // The outbox row is the one published (same id, same data).
    const [row] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.eventId, api.events.sent[0]?.id as string));
    expect(row?.data).toEqual({ reason: "CRM maintenance", actor: "api:dana", over: "budget" });
    const marks = await db.select().from(settings).where(eq(settings.key, BUDGET_DAY_KEY));
    expect(marks.map((m) => m.value)).toEqual([null]); // the row stays, no day marked

    // A second pause over the person's changes nothing and announces nothing.
    expect(((await (await post("/api/admin/pause", { reason: "again" })).json()) as Json).changed).toBe(
      false,
    );
    expect(api.events.sent).toHaveLength(1);
    // A person's pause from running is a plain one (no `over`).
    await post("/api/admin/resume", {});
    await post("/api/admin/pause", { reason: "later" });
    expect(api.events.sent.at(-1)).toMatchObject({
      name: "scheduler/paused",
      data: { reason: "later", actor: "api" },
    });
    expect(api.events.sent.at(-1)?.data).not.toHaveProperty("over");
    await post("/api/admin/resume", {});
  });

  it("refuses to resume while today's budget is spent (409 naming the cap), and resumes once it is raised", async () => {
    const db = t.current.db;
    const now = new Date();
    api.deps.now = () => now;
    const project = `proj_${newId("proj").slice(5)}`;
    await db.insert(projects).values({ id: project, name: project });
    await db.insert(tokenUsage).values({
      provider: "anthropic",
      model: "m",
      tier: "primary",
      projectId: project,
      tokensIn: 9000,
      tokensOut: 1500,
      costUsd: "1",
      at: now,
    });
    await pauseScheduler(db, {
      reason: "daily budget spent",
      actor: "fn:schedule",
      now,
      budgetDay: now.toISOString().slice(0, 10),
    });
    const sentBefore = api.events.sent.length;
    const refused = await post("/api/admin/resume", {}, { "foreman-actor": "dana" });
    expect(refused.status).toBe(409);
    const error = ((await refused.json()) as Json).error;
    expect(error).toMatchObject({
      code: "CONFLICT",
      details: { reason: "budget_spent", tokens_used: 10_500, tokens_limit: 10_000 },
    });
    expect(error.message).toContain("10,500 of 10,000 tokens (FOREMAN_DAILY_TOKEN_BUDGET)");
    expect(await get("/api/admin/scheduler")).toMatchObject({ paused: true, actor: "fn:schedule" });
    expect(api.events.sent).toHaveLength(sentBefore);

    // With the cap raised the same resume goes through.
    const raised = testApp(db, { FOREMAN_DAILY_TOKEN_BUDGET: "50000" });
    raised.deps.now = () => now;
    const ok = await raised.request("/api/admin/resume", { method: "POST" });
    expect(ok.status).toBe(200);
    expect((await ok.json()) as Json).toMatchObject({ changed: true, paused: false });
    // Not paused, a resume is a no-op whatever the budget.
    const idle = await post("/api/admin/resume", {});
    expect(idle.status).toBe(200);
    expect(((await idle.json()) as Json).changed).toBe(false);
    await db.delete(tokenUsage).where(eq(tokenUsage.projectId, project));
  });

  it("answers a pause with a warning when scheduler/paused could not be sent yet", async () => {
    api.events.failWith = new Error("fetch failed");
    const res = await post("/api/admin/pause", { reason: "engine maintenance" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).warnings).toEqual([
      "scheduler/paused is queued: the engine is unreachable (fetch failed); re-sent automatically.",
    ]);
    api.events.failWith = undefined;
    const resumed = (await (await post("/api/admin/resume", {})).json()) as Json;
    expect(resumed).toMatchObject({ changed: true, paused: false });
    expect(resumed).not.toHaveProperty("warnings");
  });

  it("refuses a bad body with 400 naming the field, pausing nothing", async () => {
    const res = await post("/api/admin/pause", { reason: "" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error).toMatchObject({ code: "VALIDATION", field: "reason" });
    const extra = await post("/api/admin/resume", { reason: "x" });
    expect(((await extra.json()) as Json).error.field).toBe("reason");
    expect((await get("/api/admin/scheduler")).paused).toBe(false);
  });
});

describe("auth", () => {
  it.each([
    ["GET", "/api/admin/workers"],
    ["GET", "/api/admin/budget"],
    ["GET", "/api/admin/failures"],
    ["GET", "/api/admin/scheduler"],
    ["POST", "/api/admin/pause"],
    ["POST", "/api/admin/resume"],
  ])("refuses %s %s without or with a wrong token", async (method, path) => {
    for (const token of [null, "wrong-token-0123456789"]) {
      const res = await api.request(path, { method, token });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Json).error.code).toBe("UNAUTHORIZED");
    }
    expect(api.events.sent).toEqual([]);
    expect((await get("/api/admin/scheduler")).paused).toBe(false);
  });
});
