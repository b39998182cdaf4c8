// POST /api/inngest as Inngest's executor calls it (see ../executor.ts), in dev mode against a fake
// Inngest API: the real promote function runs its steps in one request, checkpointing each, and the
// function-edge middleware's verdicts reach the executor as op codes and `x-inngest-no-retry` /
// `retry-after` headers.
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { serve } from "inngest/hono";
import { beforeEach, describe, expect, it } from "vitest";
import type { AppEnv } from "../../api/env.ts";
import { tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { inngest } from "../../functions/client.ts";
import { promote } from "../../functions/promote.ts";
import { DomainError } from "../../lib/errors.ts";
import { useTestDb } from "../db.ts";
import { testApp, testDeps } from "../deps.ts";
import { executorRequest } from "../executor.ts";
import { useFakeInngestEngine } from "../fakes/inngest.ts";
import { doneTaskWithDependent } from "../fixtures.ts";

const t = useTestDb();
const engine = useFakeInngestEngine();
beforeEach(() => engine.current.reset());

type Op = { id: string; op: string; displayName?: string; data?: unknown; error?: Record<string, unknown> };

const statusOf = async (db: AppDb, id: string) =>
  (await db.select({ status: tasks.status }).from(tasks).where(eq(tasks.id, id)))[0]?.status;

describe("POST /api/inngest: promote, as the executor calls it", () => {
  it("runs every step in one request, checkpoints each, and answers RunComplete with the result", async () => {
    const db = t.current.db;
    const { done, dependent, event } = await doneTaskWithDependent(db);
    const { app } = testApp(db);
    const req = executorRequest({ fnId: "foreman-promote", event });

    const res = await app.request(req.path, req.init);

    expect(res.status, await res.clone().text()).toBe(206);
    expect(res.headers.get("x-inngest-no-retry")).toBeNull();
    const ops = (await res.json()) as Op[];
    expect(ops).toEqual([expect.objectContaining({ op: "RunComplete", data: { promoted: [dependent.id] } })]);
    expect(await statusOf(db, dependent.id)).toBe("ready");
    expect(await statusOf(db, done.id)).toBe("done");

    // Each step was checkpointed as it finished, for this run, queue item and request; the first is
    // the promotion itself.
    const checkpoints = engine.current.checkpoints();
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(checkpoints[0]?.steps.map((s) => [s.op, s.displayName])).toEqual([
      ["StepRun", "promote-dependents"],
    ]);
    for (const c of checkpoints) {
      expect(c).toMatchObject({
        run_id: req.runId,
        fn_id: req.internalFnId,
        qi_id: req.queueItemId,
        request_id: req.requestId,
        generation_id: 0,
      });
    }
  });

  it("without immediate execution, reports the first step for the executor to schedule and runs nothing", async () => {
    const db = t.current.db;
    const { dependent, event } = await doneTaskWithDependent(db);
    const { app } = testApp(db);
    const req = executorRequest({ fnId: "foreman-promote", event, disableImmediateExecution: true });

    const res = await app.request(req.path, req.init);

    expect(res.status).toBe(206);
    const ops = (await res.json()) as Op[];
    expect(ops.map((o) => [o.op, o.displayName])).toEqual([["StepPlanned", "promote-dependents"]]);
    expect(await statusOf(db, dependent.id)).toBe("intake");
    expect(engine.current.checkpoints()).toEqual([]);
  });

  it("fails a run whose request carried no deps at once, naming the function", async () => {
    const db = t.current.db;
    const { dependent, event } = await doneTaskWithDependent(db);
    const handler = serve({ client: inngest, functions: [promote] });
    const bare = new Hono().on(["POST"], "/api/inngest", (c) => handler(c));
    const req = executorRequest({ fnId: "foreman-promote", event });

    const res = await bare.request(req.path, req.init);

    expect(res.status).toBe(400);
    expect(res.headers.get("x-inngest-no-retry")).toBe("true");
    expect(await res.json()).toMatchObject({
      name: "NonRetriableError",
      message: expect.stringContaining('"foreman-promote" ran without deps'),
    });
    expect(await statusOf(db, dependent.id)).toBe("intake");
  });
});

// Test-only functions, served by their own handler on the same client (and so the same middleware).
const failWith = (kind: string): Error => {
  switch (kind) {
    case "validation":
      return new DomainError("VALIDATION", "title is required", { field: "title" });
    case "unauthorized":
      return new DomainError("UNAUTHORIZED", "the bridge refused the token");
    case "validation-with-delay":
      return new DomainError("VALIDATION", "still invalid later", { retryAfterMs: 30_000 });
    case "rate-limited":
      return new DomainError("RATE_LIMITED", "slow down", { retryAfterMs: 30_000 });
    case "upstream":
      return new DomainError("UPSTREAM", "the bridge hung up");
    default:
      return new Error("boom");
  }
};

const failingStep = inngest.createFunction(
  { id: "test-failing-step", retries: 3, triggers: [{ event: "test/fail.step" }] },
  async ({ event, step }) => {
    await step.run("explode", () => {
      throw failWith(String(event.data.kind));
    });
  },
);

const failingHandler = inngest.createFunction(
  { id: "test-failing-handler", retries: 3, triggers: [{ event: "test/fail.handler" }] },
  async ({ event }) => {
    throw failWith(String(event.data.kind));
  },
);

function failingApp(db: AppDb) {
  const { deps } = testDeps(db);
  const handler = serve({ client: inngest, functions: [failingStep, failingHandler] });
  return new Hono<AppEnv>()
    .use(async (c, next) => {
      c.set("deps", deps);
      await next();
    })
    .on(["POST"], "/api/inngest", (c) => handler(c));
}

async function runStep(kind: string) {
  const req = executorRequest({
    fnId: "foreman-test-failing-step",
    event: { name: "test/fail.step", data: { kind } },
  });
  const res = await failingApp(t.current.db).request(req.path, req.init);
  const ops = (await res.json()) as Op[];
  return { res, ops, op: ops[0] };
}

describe("POST /api/inngest: the function-edge error middleware, as the executor sees it", () => {
  it.each(["validation", "unauthorized", "validation-with-delay"])(
    "fails the step for good on a non-retryable DomainError (%s)",
    async (kind) => {
      const { res, ops, op } = await runStep(kind);
      expect(res.status).toBe(206);
      expect(res.headers.get("x-inngest-no-retry")).toBe("true");
      expect(res.headers.get("retry-after")).toBeNull();
      expect(ops).toHaveLength(1);
      expect(op).toMatchObject({
        op: "StepFailed",
        displayName: "explode",
        error: { name: "NonRetriableError", message: failWith(kind).message },
      });
      expect(engine.current.checkpoints()).toEqual([]);
    },
  );

  it("asks for a retry after the DomainError's delay on a rate limit", async () => {
    const { res, op } = await runStep("rate-limited");
    expect(res.status).toBe(206);
    expect(res.headers.get("x-inngest-no-retry")).toBe("false");
    expect(res.headers.get("retry-after")).toBe("30");
    expect(op).toMatchObject({ op: "StepError", error: { name: "RetryAfterError", message: "slow down" } });
  });

  it.each([
    ["a retryable DomainError", "upstream", "DomainError"],
    ["a generic Error", "generic", "Error"],
  ])("leaves %s to Inngest's normal retries", async (_, kind, name) => {
    const { res, op } = await runStep(kind);
    expect(res.status).toBe(206);
    expect(res.headers.get("x-inngest-no-retry")).toBe("false");
    expect(res.headers.get("retry-after")).toBeNull();
    expect(op).toMatchObject({ op: "StepError", error: { name, message: failWith(kind).message } });
  });

  it.each([
    ["validation", 400, "true", "NonRetriableError"],
    ["generic", 500, "false", "Error"],
  ])("maps an error thrown by the handler itself (%s)", async (kind, status, noRetry, name) => {
    const req = executorRequest({
      fnId: "foreman-test-failing-handler",
      event: { name: "test/fail.handler", data: { kind } },
    });
    const res = await failingApp(t.current.db).request(req.path, req.init);
    expect(res.status).toBe(status);
    expect(res.headers.get("x-inngest-no-retry")).toBe(noRetry);
    expect(await res.json()).toMatchObject({ name, message: failWith(kind).message });
  });
});
