// review's onFailure, as the executor calls it (POST /api/inngest?fnId=foreman-review-failure): a
// review whose model is down is parked to be retried — once per failed run — until it has been
// parked FOREMAN_REVIEW_MAX_PARKINGS times; the next failure, or at once for a failure retrying cannot help (the
// bridge refusing its token), the task goes to failed_needs_triage with the failure's class and
// `task/state.changed` (notify's cue), instead of staying `working` and being retried for ever. A run
// that failed in the human stage (the verdict applied) is not parked: the stage is resumed at once,
// and a resumed run that fails again is resumed again, three times in all, then left to the watchdog.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { taskEvents, tasks, workerLeases } from "../db/schema/index.ts";
import { findParkedReviews } from "../lib/review/parked.ts";
import { transition } from "../lib/tasks/transition.ts";
import { useTestDb } from "../test/db.ts";
import { testApp } from "../test/deps.ts";
import { failureRequest } from "../test/executor.ts";
import { useFakeInngestEngine } from "../test/fakes/inngest.ts";
import { freshKey, submittedDeliverable } from "../test/fixtures.ts";

const t = useTestDb();
useFakeInngestEngine();

const DOWN = { name: "Error", message: "The local model answered 503: busy" };
const REFUSED = {
  name: "NonRetriableError",
  message: "The local model refused the bridge token (401 unauthorized)",
};

async function failReview(
  submitted: { event: { name: string; data: Record<string, unknown> } },
  error: { name: string; message: string },
  runId: string,
  env: Record<string, string> = {},
) {
  const { app, events } = testApp(t.current.db, env);
  const req = failureRequest("review", { runId: runId, error: error, event: submitted.event });
  const res = await app.request(req.path, req.init);
  expect(res.status, await res.clone().text()).toBe(206);
  return events;
}

const rowOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const parkingsOf = async (id: string) =>
  t.current.db
    .select()
    .from(taskEvents)
    .where(and(eq(taskEvents.taskId, id), eq(taskEvents.kind, "review_pending")));

async function submitted() {
  await t.current.db.delete(workerLeases);
  return submittedDeliverable(t.current.db, { task: { rubric: ["label"] } });
}

describe("review onFailure", () => {
  it("parks a review whose model is down, once per failed run, and leaves the task working", async () => {
    const s = await submitted();
    await failReview(s, DOWN, "01RUNA");
    await failReview(s, DOWN, "01RUNA"); // the engine re-delivering the same failure
    expect(await parkingsOf(s.taskId)).toHaveLength(1);
    expect((await rowOf(s.taskId))?.status).toBe("working");
    const later = new Date(Date.now() + 60_000);
    expect(
      (await findParkedReviews(t.current.db, { parkedBefore: later, limit: 10 })).map((p) => p.taskId),
    ).toContain(s.taskId);
  });

  it("sends the task to triage on the failure after FOREMAN_REVIEW_MAX_PARKINGS parkings", async () => {
    const s = await submitted();
    const env = { FOREMAN_REVIEW_MAX_PARKINGS: "2" };
    await failReview(s, DOWN, "01RUN1", env);
    await failReview(s, DOWN, "01RUN2", env);
    expect((await rowOf(s.taskId))?.status).toBe("working");
    const events = await failReview(s, DOWN, "01RUN3", env);

    const row = await rowOf(s.taskId);
    expect(row?.status).toBe("failed_needs_triage");
    expect(row?.failureClass).toBe("external_api");
    expect(row?.statusReason).toMatch(/^external_api: the review could not run, 3 times over: .*503/);
    expect(await parkingsOf(s.taskId)).toHaveLength(2);
    expect(events.sent.map((e) => [e.name, (e.data as { to?: string }).to])).toEqual([
      ["task/state.changed", "failed_needs_triage"],
    ]);
  });

  it("sends the task to triage at once when retrying cannot help (class auth)", async () => {
    const s = await submitted();
    await failReview(s, REFUSED, "01RUNX");
    const row = await rowOf(s.taskId);
    expect(row?.status).toBe("failed_needs_triage");
    expect(row?.failureClass).toBe("auth");
    expect(await parkingsOf(s.taskId)).toEqual([]);
  });

  it("takes up a human stage whose run failed (Slack down past the card's retries) instead of parking a done review", async () => {
    const s = await submitted();
    await transition(t.current.db, {
      taskId: s.taskId,
      from: "working",
      to: "awaiting_internal_review",
      key: freshKey(),
      reason: "review passed",
      actor: "fn:review",
    });
    const slackDown = { name: "Error", message: "Slack answered 503 (service_unavailable)" };
    const events = await failReview(s, slackDown, "01RUNS");
    const again = await failReview(s, slackDown, "01RUNS"); // the engine re-delivering the same failure
    expect(await parkingsOf(s.taskId)).toEqual([]);
    expect((await rowOf(s.taskId))?.status).toBe("awaiting_internal_review");
    const resumes = events.sent.filter((e) => e.name === "task/stamp.resume");
    expect(resumes).toHaveLength(1);
    expect(resumes[0]?.data).toMatchObject({ taskId: s.taskId, stage: "internal", deliverableHash: s.hash });
    // The re-delivery re-sends the same resume (same id: the engine drops it), never a second one.
    expect(again.sent.filter((e) => e.name === "task/stamp.resume").map((e) => e.id)).toEqual(
      resumes.map((e) => e.id),
    );
    const recorded = (
      await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, s.taskId))
    ).filter((e) => e.kind === "watchdog");
    expect(recorded).toHaveLength(1);

    // The resumed run fails too (Slack still down): resumed again, three resumes in all for this
    // entry, then left to the watchdog's lost-wait check.
    const resume = {
      event: { name: "task/stamp.resume", data: resumes[0]?.data as Record<string, unknown> },
    };
    const again1 = await failReview(resume, slackDown, "01RUNT1");
    const again2 = await failReview(resume, slackDown, "01RUNT2");
    const again3 = await failReview(resume, slackDown, "01RUNT3");
    const resent = (sent: { name: string }[]) => sent.filter((e) => e.name === "task/stamp.resume").length;
    expect([resent(again1.sent), resent(again2.sent), resent(again3.sent)]).toEqual([1, 1, 0]);
    expect(await parkingsOf(s.taskId)).toEqual([]);
  });

  it("leaves a task alone whose deliverable was superseded meanwhile", async () => {
    const s = await submitted();
    await t.current.db
      .update(tasks)
      .set({ deliverableHash: "a-newer-version" })
      .where(eq(tasks.id, s.taskId));
    await failReview(s, REFUSED, "01RUNY");
    expect((await rowOf(s.taskId))?.status).toBe("working");
  });
});
