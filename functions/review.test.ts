// review over a real database and the local model's fake: pass → the client (or an internal stamp
// first when the project asks), fail → a revision with the feedback (at most two), a third failure →
// a person; malformed output repaired once; a model that is down never passes anything.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { projects, reviews, taskEvents, tasks, tokenUsage, workerLeases } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { newId } from "../lib/ids.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { type OpenAIUpstream, promptTokens, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import { stampWhileWaiting, submittedDeliverable } from "../test/fixtures.ts";
import { runFunction, suspendedAt } from "../test/inngest.ts";
import { review } from "./review.ts";

const t = useTestDb();
let model: OpenAIUpstream;
beforeAll(async () => {
  model = await startOpenAIUpstream();
});
afterAll(async () => {
  await model?.close();
});
beforeEach(async () => {
  model.clearFaults();
  await t.current.db.delete(workerLeases);
});

const verdict = (
  pass: boolean,
  feedback = pass ? "All good." : "The property label is wrong: use 'Renewal date'.",
) => ({
  criteria: [
    { criterion: "renewal_date exists", score: pass ? 9 : 3, pass, note: pass ? "ok" : "label wrong" },
  ],
  verdict: pass ? "pass" : "fail",
  score: pass ? 9 : 3,
  feedback,
});
function script(...answers: unknown[]) {
  const queue = [...answers];
  Object.defineProperty(model.behaviour, "json", {
    configurable: true,
    get: () => (queue.length > 1 ? queue.shift() : queue[0]),
  });
}
const env = () => ({
  BRIDGE_URL: model.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: model.behaviour.model,
});

/** The local model's env plus the overflow tier as the last try's fallback (a 31-minute window). */
const overflowEnv = (overflow: OpenAIUpstream) => ({
  ...env(),
  FOREMAN_REVIEW_FALLBACK: "true",
  FOREMAN_REVIEW_RETRY_MINUTES: "31",
  OVERFLOW_BASE_URL: overflow.url,
  OVERFLOW_API_KEY: "overflow-key",
  OVERFLOW_MODEL: overflow.behaviour.model,
});

async function project(db: AppDb, requiresInternalStamp: boolean) {
  const id = newId("proj");
  await db.insert(projects).values({ id, name: id, requiresInternalStamp });
  return id;
}

/** A task worked once more (test/fixtures.ts): leased, a deliverable submitted, the slot released. */
const submitted = (db: AppDb, opts: { projectId?: string; taskId?: string; n?: number } = {}) =>
  submittedDeliverable(db, {
    ...(opts.taskId !== undefined ? { taskId: opts.taskId } : {}),
    ...(opts.n !== undefined ? { n: opts.n } : {}),
    task: { rubric: ["renewal_date exists"], ...(opts.projectId ? { projectId: opts.projectId } : {}) },
  });
const row = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];

describe("review", () => {
  it("passes to the client when no internal stamp is required, storing the verdict and metering the call", async () => {
    const db = t.current.db;
    const { taskId, event } = await submitted(db, { projectId: await project(db, false) });
    script(verdict(true));
    const { deps, events } = testDeps(db, env());
    const res = await runFunction(review, {
      deps,
      event,
      runId: `rv_${taskId}`,
      waits: [stampWhileWaiting(t.current.db, taskId, "client", "approve")],
    });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({
      state: "awaiting_client_review",
      verdict: "pass",
      stages: { client: { kind: "decided", decision: "approve", channel: "api" } },
    });
    expect((await row(taskId))?.status).toBe("done");
    const [stored] = await db.select().from(reviews).where(eq(reviews.taskId, taskId));
    expect(stored).toMatchObject({ verdict: "pass", revision: 1, score: 9 });
    const metered = await db.select().from(tokenUsage).where(eq(tokenUsage.taskId, taskId));
    expect(metered).toMatchObject([{ tier: "local", purpose: "review" }]);
    // Priced at the local tier's GPU rate, as triage and the digest are (not free).
    expect(Number(metered[0]?.costUsd)).toBeGreaterThan(0);
    expect(events.sent.map((e) => e.name)).toEqual(["task/state.changed"]);
    expect(events.scores).toEqual([
      { runId: `rv_${taskId}`, name: "review.score", value: 9 },
      { runId: `rv_${taskId}`, name: "review.pass", value: true },
    ]);
    const asked = model.requests.at(-1) as { response_format?: { type: string } };
    expect(asked.response_format?.type).toBe("json_schema");
  });

  it("passes to an internal stamp first when the project requires one", async () => {
    const db = t.current.db;
    const { taskId, event } = await submitted(db, { projectId: await project(db, true) });
    script(verdict(true));
    const res = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event,
      runId: `rv_${taskId}`,
      waits: [
        stampWhileWaiting(t.current.db, taskId, "internal", "approve"),
        stampWhileWaiting(t.current.db, taskId, "client", "approve"),
      ],
    });
    expect(res.result).toMatchObject({
      state: "awaiting_internal_review",
      stages: { internal: { decision: "approve" }, client: { decision: "approve" } },
    });
    expect((await row(taskId))?.status).toBe("done");
  });

  it("ends the run after an internal rejection: no client stage", async () => {
    const db = t.current.db;
    const { taskId, event } = await submitted(db, { projectId: await project(db, true) });
    script(verdict(true));
    const res = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event,
      runId: `rv_${taskId}`,
      waits: [stampWhileWaiting(t.current.db, taskId, "internal", "reject")],
    });
    expect(res.result).toMatchObject({ stages: { internal: { decision: "reject" } } });
    expect((res.result as { stages: object }).stages).not.toHaveProperty("client");
    expect((await row(taskId))?.status).toBe("cancelled");
  });

  it("fails, fails, fails: two revisions with the feedback, then a person decides", async () => {
    const db = t.current.db;
    const projectId = await project(db, false);
    let { taskId, event } = await submitted(db, { projectId });
    const outcomes: string[] = [];
    for (let n = 1; n <= 3; n++) {
      script(verdict(false, `fix number ${n}`));
      const { deps, events } = testDeps(db, env());
      const res = await runFunction(review, { deps, event, runId: `rv_${taskId}_${n}` });
      outcomes.push((await row(taskId))?.status as string);
      // The third run waits for a person (a real run is suspended at its first wait).
      expect(suspendedAt(res.error)).toBe(n < 3 ? undefined : "internal:wait:remind:0");
      if (n < 3) {
        expect(events.sent.find((e) => e.name === "task/revision.requested")?.data).toEqual({
          taskId,
          revision: n,
          feedback: `fix number ${n}`,
        });
        expect((await row(taskId))?.revisionCount).toBe(n);
        ({ taskId, event } = await submitted(db, { taskId, n: n + 1 }));
      }
    }
    expect(outcomes).toEqual(["ready", "ready", "awaiting_internal_review"]);
    const feedback = (
      await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
    )
      .filter((e) => e.kind === "review")
      .map((e) => (e.payload as { feedback: string }).feedback);
    expect(feedback).toEqual(["fix number 1", "fix number 2", "fix number 3"]);
    expect(
      (await db.select().from(reviews).where(eq(reviews.taskId, taskId)).orderBy(reviews.revision)).map(
        (r) => r.revision,
      ),
    ).toEqual([1, 2, 3]);
  });

  it("repairs one malformed answer; twice malformed is retried, never a verdict", async () => {
    const db = t.current.db;
    const once = await submitted(db, { projectId: await project(db, false) });
    script({ verdict: "pass" }, verdict(true));
    const ok = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: once.event,
      runId: `rv_${once.taskId}`,
    });
    expect(suspendedAt(ok.error)).toBe("client:wait:remind:0");
    expect((await row(once.taskId))?.status).toBe("awaiting_client_review");
    // Both answers were computed: the malformed one's tokens are metered with the repaired one's.
    const asked = model.requests.slice(-2).map((b) => promptTokens(b as Parameters<typeof promptTokens>[0]));
    const meteredOnce = await db.select().from(tokenUsage).where(eq(tokenUsage.taskId, once.taskId));
    expect(meteredOnce.map((m) => m.tokensIn)).toEqual([(asked[0] ?? 0) + (asked[1] ?? 0)]);

    const twice = await submitted(db, { projectId: await project(db, false) });
    script("not a verdict");
    const bad = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: twice.event,
      runId: `rv_${twice.taskId}`,
    });
    expect(bad.error).toBeDefined();
    expect((await row(twice.taskId))?.status).toBe("working");
    expect(await db.select().from(reviews).where(eq(reviews.taskId, twice.taskId))).toHaveLength(0);
    // No verdict, but two answers the GPU computed: metered all the same.
    const spent = model.requests.slice(-2).map((b) => promptTokens(b as Parameters<typeof promptTokens>[0]));
    const meteredTwice = await db.select().from(tokenUsage).where(eq(tokenUsage.taskId, twice.taskId));
    expect(meteredTwice).toMatchObject([
      { purpose: "review", tier: "local", tokensIn: (spent[0] ?? 0) + (spent[1] ?? 0) },
    ]);
  });

  it("never passes a verdict that scored only part of the rubric: repaired once, then retried, never a pass", async () => {
    const db = t.current.db;
    const rubric = ["renewal_date exists", "its label is 'Renewal date'", "no other property changed"];
    const overall = {
      criteria: [{ criterion: "overall", score: 9, pass: true, note: "looks fine" }],
      verdict: "pass",
      score: 9,
      feedback: "All good.",
    };
    const complete = {
      criteria: rubric.map((criterion) => ({ criterion, score: 9, pass: true, note: "ok" })),
      verdict: "pass",
      score: 9,
      feedback: "All good.",
    };
    const repaired = await submittedDeliverable(db, {
      task: { rubric, projectId: await project(db, false) },
    });
    script(overall, complete);
    const ok = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: repaired.event,
      runId: `rv_${repaired.taskId}`,
    });
    expect(suspendedAt(ok.error)).toBe("client:wait:remind:0");
    const [stored] = await db.select().from(reviews).where(eq(reviews.taskId, repaired.taskId));
    expect(stored?.criteria).toHaveLength(3);
    // The repair told the model what it left out.
    expect(JSON.stringify(model.requests.at(-1))).toContain("scored 1 of the rubric's 3 criteria");
    // Room for three entries beside the feedback.
    expect((model.requests.at(-1) as { max_tokens?: number }).max_tokens).toBe(1600);

    // The first criterion scored three times and the others never is no complete answer either.
    const repeated = {
      ...complete,
      criteria: rubric.map(() => ({ criterion: `1. ${rubric[0]}`, score: 9, pass: true, note: "ok" })),
    };
    const again = await submittedDeliverable(db, { task: { rubric, projectId: await project(db, false) } });
    script(repeated, complete);
    const fixed = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: again.event,
      runId: `rv_${again.taskId}`,
    });
    expect(suspendedAt(fixed.error)).toBe("client:wait:remind:0");
    expect(JSON.stringify(model.requests.at(-1))).toContain(
      "scored 1 of the rubric's 3 criteria (2 entries repeat a criterion)",
    );

    const never = await submittedDeliverable(db, { task: { rubric, projectId: await project(db, false) } });
    script(overall);
    const bad = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: never.event,
      runId: `rv_${never.taskId}`,
    });
    expect(bad.error).toBeDefined();
    expect((await row(never.taskId))?.status).toBe("working");
    expect(await db.select().from(reviews).where(eq(reviews.taskId, never.taskId))).toHaveLength(0);
  });

  it("never passes while the local model is down: the task stays working with its work kept", async () => {
    const db = t.current.db;
    const { taskId, event } = await submitted(db, { projectId: await project(db, false) });
    model.fail({ status: 503, body: { error: { message: "busy" } }, headers: { "retry-after": "1" } });
    const res = await runFunction(review, { deps: testDeps(db, env()).deps, event, runId: `rv_${taskId}` });
    expect(res.error).toBeDefined();
    expect((await row(taskId))?.status).toBe("working");
    expect((await row(taskId))?.deliverableHash).toBe(event.data.deliverableHash);
    expect(await db.select().from(reviews).where(eq(reviews.taskId, taskId))).toHaveLength(0);
    // And with no reviewer configured at all, the same: nothing is passed.
    const none = await runFunction(review, { deps: testDeps(db).deps, event, runId: `rv2_${taskId}` });
    expect(none.error).toBeDefined();
    expect((await row(taskId))?.status).toBe("working");
  });

  it("falls back to the overflow tier only when configured and only on the last try, recorded as such", async () => {
    const db = t.current.db;
    const overflow = await startOpenAIUpstream();
    try {
      Object.defineProperty(overflow.behaviour, "json", { configurable: true, get: () => verdict(true) });
      const { taskId, event } = await submitted(db, { projectId: await project(db, false) });
      model.fail({ status: 503, body: { error: { message: "busy" } } });
      const fallbackEnv = overflowEnv(overflow);
      // An early try: the local tier still has its retry window, so no fallback.
      const early = await runFunction(review, {
        deps: testDeps(db, fallbackEnv).deps,
        event,
        runId: `rv_${taskId}`,
        attempt: 2,
      });
      expect(early.error).toMatchObject({ name: "RetryAfterError" });
      expect(overflow.requests).toHaveLength(0);
      // Off (the default): the last try parks rather than asking another tier.
      const off = await runFunction(review, {
        deps: testDeps(db, env()).deps,
        event,
        runId: `rv_${taskId}`,
        attempt: 5,
      });
      expect(off.error).toBeDefined();
      expect(overflow.requests).toHaveLength(0);
      // On, last try: the overflow tier reviews, and the verdict says so.
      const last = await runFunction(review, {
        deps: testDeps(db, fallbackEnv).deps,
        event,
        runId: `rv_${taskId}`,
        attempt: 5,
      });
      expect(suspendedAt(last.error)).toBe("client:wait:remind:0");
      expect(overflow.requests).toHaveLength(1);
      const [stored] = await db.select().from(reviews).where(eq(reviews.taskId, taskId));
      expect(stored).toMatchObject({ verdict: "pass", model: overflow.behaviour.model });
      const ev = (await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId))).find(
        (e) => e.kind === "review",
      );
      expect(ev).toMatchObject({ actor: "reviewer:overflow", payload: { tier: "overflow" } });
      expect(await db.select().from(tokenUsage).where(eq(tokenUsage.taskId, taskId))).toMatchObject([
        { tier: "overflow", purpose: "review" },
      ]);
    } finally {
      await overflow.close();
    }
  });

  it("meters the overflow tier's unusable answers when it too answers malformed", async () => {
    const db = t.current.db;
    const overflow = await startOpenAIUpstream();
    try {
      Object.defineProperty(overflow.behaviour, "json", { configurable: true, get: () => ({ wrong: true }) });
      const { taskId, event } = await submitted(db, { projectId: await project(db, false) });
      model.fail({ status: 503, body: { error: { message: "busy" } } });
      const last = await runFunction(review, {
        deps: testDeps(db, overflowEnv(overflow)).deps,
        event,
        runId: `rv_${taskId}`,
        attempt: 5,
      });
      expect(last.error).toBeDefined();
      expect(overflow.requests).toHaveLength(2); // the answer and its repair
      const metered = await db.select().from(tokenUsage).where(eq(tokenUsage.taskId, taskId));
      expect(metered).toMatchObject([{ tier: "overflow", purpose: "review", provider: "overflow" }]);
      expect((metered[0]?.tokensIn ?? 0) + (metered[0]?.tokensOut ?? 0)).toBeGreaterThan(0);
    } finally {
      model.clearFaults();
      await overflow.close();
    }
  });

  it("skips a superseded deliverable", async () => {
    const db = t.current.db;
    const first = await submitted(db, { projectId: await project(db, false) });
    // A newer version replaced the one this event is about.
    await db
      .update(tasks)
      .set({ deliverableHash: "sha-of-a-newer-version" })
      .where(eq(tasks.id, first.taskId));
    script(verdict(true));
    const res = await runFunction(review, {
      deps: testDeps(db, env()).deps,
      event: first.event,
      runId: `rv_${first.taskId}`,
    });
    expect(res.result).toMatchObject({ state: "skipped" });
  });
});
