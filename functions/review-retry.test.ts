// A review whose model is down is parked, never passed; when the model is back, review-retry re-sends
// the submission (once per parking) and the review runs to its verdict.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { outbox, projects, reviews, taskEvents, tasks, workerLeases } from "../db/schema/index.ts";
import { parkReview } from "../lib/review/parked.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import { submittedDeliverable } from "../test/fixtures.ts";
import { runFunction, suspendedAt } from "../test/inngest.ts";
import { review } from "./review.ts";
import { reviewRetry } from "./review-retry.ts";

const t = useTestDb();
let model: OpenAIUpstream;
beforeAll(async () => {
  model = await startOpenAIUpstream();
});
afterAll(async () => {
  await model?.close();
});

describe("review-retry", () => {
  it("parks a review while the model is down and runs it again once the model is back", async () => {
    const db = t.current.db;
    await db.delete(workerLeases);
    // A project without internal stamps: passed work goes straight to the client.
    await db
      .insert(projects)
      .values({ id: "proj_no_stamp", name: "No internal stamp", requiresInternalStamp: false })
      .onConflictDoNothing();
    const submitted = await submittedDeliverable(db, {
      task: { rubric: ["label"], projectId: "proj_no_stamp" },
    });
    const task = { id: submitted.taskId };
    const d = { id: submitted.deliverableId };
    const event = submitted.event;
    const env = { BRIDGE_URL: model.url, BRIDGE_TOKEN: "bridge-token", LOCAL_MODEL: model.behaviour.model };

    // Down: the run fails (retries exhausted in the engine), onFailure parks it.
    model.fail({ status: 503, body: { error: { message: "busy" } } });
    const down = await runFunction(review, { deps: testDeps(db, env).deps, event, runId: `rv1_${task.id}` });
    expect(down.error).toBeDefined();
    await parkReview(db, event.data, (down.error as Error).message);
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("working");

    // Too soon: nothing is re-sent while the parking is fresh.
    const fresh = testDeps(db, env);
    await runFunction(reviewRetry, {
      deps: fresh.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    expect(fresh.events.sent).toEqual([]);

    // Later, the model is back: the submission is re-sent once, under an id for this parking.
    model.clearFaults();
    Object.defineProperty(model.behaviour, "json", {
      configurable: true,
      get: () => ({
        criteria: [{ criterion: "label", score: 9, pass: true, note: "ok" }],
        verdict: "pass",
        score: 9,
        feedback: "Good.",
      }),
    });
    const later = testDeps(db, env);
    later.deps.now = () => new Date(Date.now() + 11 * 60_000);
    await runFunction(reviewRetry, {
      deps: later.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    expect(later.events.sent).toHaveLength(1);
    const resent = later.events.sent[0];
    expect(resent).toMatchObject({ name: "task/work.submitted", data: event.data });
    expect(resent?.id).toMatch(new RegExp(`^review-retry:${d.id}:\\d+$`));

    const up = await runFunction(review, {
      deps: later.deps,
      event: { name: resent?.name as string, data: resent?.data as Record<string, unknown> },
      runId: `rv2_${task.id}`,
    });
    expect(suspendedAt(up.error)).toBe("client:wait:remind:0");
    expect(await db.select().from(reviews).where(eq(reviews.taskId, task.id))).toMatchObject([
      { verdict: "pass" },
    ]);
    const log = (await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).map((e) => e.kind);
    expect(log).toContain("review_pending");
    // The retry itself is in the task's log, naming the event it sent.
    const asked = (await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).filter(
      (e) => e.kind === "watchdog",
    );
    expect(asked).toMatchObject([
      { actor: "watchdog", payload: { action: "review_retried", eventId: resent?.id } },
    ]);
    // …and its event went through the outbox, written with it and marked sent once published.
    const [row] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.eventId, resent?.id as string));
    expect(row?.causeEventId).toBe(asked[0]?.id);
    expect(row?.sentAt).toBeInstanceOf(Date);

    // Reviewed now: nothing is owed, nothing is re-sent.
    const after = testDeps(db, env);
    after.deps.now = later.deps.now;
    await runFunction(reviewRetry, {
      deps: after.deps,
      event: { name: "inngest/scheduled.timer", data: {} },
    });
    expect(after.events.sent).toEqual([]);
  });
});
