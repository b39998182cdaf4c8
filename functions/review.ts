// review: a submitted deliverable is reviewed against its rubric by the local model (through the GPU
// bridge, from inside a step — never step.ai.infer, which would make Inngest call the bridge), the
// verdict stored once per version, and the task moved: a failed review goes back to `ready` with the
// feedback (at most two automatic revisions, scheduled ahead of fresh work), a third failure goes to
// a person, a pass goes to the client — or to an internal stamp first when the task or project asks.
// A model that stays down parks the review (`review_pending`, the task stays `working`): never a
// pass, never lost; review-retry runs it again once the model is back.
//
// Then the human stages, in the same run (DESIGN §4 "Human stamps race-proof"): announce (the internal
// Slack card; the client's signed link), then sequential waits for `task/stamped` — until the reminder,
// remind, until the escalation, escalate, until the deadline, set aside as blocked ("no stamp") — with
// the stamps table re-read before every wait and after every timeout, so a click that lands before a
// wait exists, or between two waits, is found. The endpoints apply decisions themselves (one
// compare-and-set); this run only observes them, shows them on the card, and moves to the next stage.
//
// A stage whose wait the engine lost is resumed from the database: the watchdog sends
// `task/stamp.resume` (taskId, stage, deliverable hash, when the stage began), and this function
// skips the model review and runs that human stage again on its original clock — the stamps table
// and the log re-read first, so a decision that landed meanwhile is found and what the lost run
// already did (card, link, reminder, escalation) is not done twice; waits already over are skipped.

import type { Deps } from "../lib/deps.ts";
import { taskStamped, taskStampResume, taskWorkSubmitted } from "../lib/events.ts";
import { costUsd, priceFor } from "../lib/llm/cost.ts";
import { spentOf } from "../lib/llm/local.ts";
import { meterKey, recordUsage } from "../lib/llm/meter.ts";
import { publish } from "../lib/outbox/publish.ts";
import {
  announceClient,
  announceInternal,
  escalate,
  expire,
  milestoneNotPosted,
  note,
  remind,
  type StageRef,
  settleCard,
} from "../lib/review/human.ts";
import { settleFailedReview } from "../lib/review/parked.ts";
import { readResumeState } from "../lib/review/resume.ts";
import {
  afterReviewerFailure,
  applyVerdict,
  loadReviewSubject,
  recordReview,
  reviewWithModel,
} from "../lib/review/run.ts";
import {
  phasesOf,
  readStageEntry,
  readStampOutcome,
  type StageEntry,
  type StampOutcome,
  type StampWindow,
  stampWindow,
  waitPieces,
} from "../lib/review/stamp-wait.ts";
import type { StampStage } from "../lib/states.ts";
import { failedStageRun, type LostWaitCase, resumeWait } from "../lib/watchdog/lost-waits.ts";
import { inngest } from "./client.ts";

/** Resumes a failing human stage gets from onFailure (each after its run's own retries ran out). */
const STAGE_RESUMES_ON_FAILURE = 3;

/** The local tier's retry window: Inngest's backoff over these retries, then park (or fall back). */
const REVIEW_RETRIES = 5;

export const review = inngest.createFunction(
  {
    id: "review",
    name: "Review a submitted deliverable against its rubric",
    // Backoff over these retries is the window a down reviewer gets before the review is parked.
    retries: REVIEW_RETRIES,
    concurrency: [{ limit: 2, key: '"local-gpu"', scope: "env" }],
    triggers: [taskWorkSubmitted, taskStampResume],
    onFailure: async ({ event, error, step, deps }) => {
      // One resume per failed run (its run id names it), recorded as the watchdog's would be.
      const resumeStage = async (stage: LostWaitCase) => {
        const resumed = await resumeWait(
          deps,
          stage,
          deps.now().toISOString(),
          `review-failed:${event.data.run_id}`,
        );
        return { settled: "resumed" as const, stage: stage.stage, eventId: resumed.eventId };
      };
      // A resumed stage that failed again (Slack still down) is resumed again, up to
      // STAGE_RESUMES_ON_FAILURE times for this entry; past that the watchdog's lost-wait check finds it.
      if (event.data.event.name === taskStampResume.name) {
        const resumedRef = event.data.event.data as { taskId: string; deliverableHash: string };
        return step.run("resume-again", async () => {
          const stage = await failedStageRun(deps.db, resumedRef, deps.now());
          if (!stage || stage.attempts >= STAGE_RESUMES_ON_FAILURE)
            return { settled: "left_to_watchdog" as const };
          return resumeStage(stage);
        });
      }
      const data = event.data.event.data as {
        taskId: string;
        deliverableId: string;
        deliverableHash: string;
      };
      // Parked to be retried while waiting can heal it; otherwise (or parked too often) to triage.
      return step.run("park", async () => {
        // The verdict is applied and the task waits in a human stage for this version: the stage
        // failed (Slack down past the card's retries), not the review. Take the stage up again now,
        // as the watchdog would a day later, instead of parking a review that is done.
        const stage = await failedStageRun(deps.db, data, deps.now());
        if (stage) return resumeStage(stage);
        const r = await settleFailedReview(
          deps.db,
          data,
          { name: error.name, message: error.message, runId: event.data.run_id },
          deps.config.FOREMAN_REVIEW_MAX_PARKINGS,
        );
        await publish(deps, r.outbox);
        return r.outcome;
      });
    },
  },
  async ({ event, step, deps, runId, attempt }) => {
    if (event.name === taskStampResume.name) return resumeStages(step, deps, event.data, runId);
    // Each trigger narrows only by its own name (an invoke carries the union of both).
    if (event.name !== taskWorkSubmitted.name)
      return { state: "skipped", reason: `not a trigger: ${event.name}` };
    const { taskId, deliverableId } = event.data;
    const subject = await step.run("load", () => loadReviewSubject(deps.db, taskId, deliverableId));
    if (!subject) return { state: "skipped", reason: "no such deliverable" };
    if (!subject.current)
      return { state: "skipped", reason: "the deliverable was superseded or the task moved on" };

    const verdict = await step.run("review", async () => {
      let v: Awaited<ReturnType<typeof reviewWithModel>>;
      const key = meterKey(`${runId}:review`, attempt);
      const meter = (
        model: string,
        tier: "local" | "overflow",
        u: { input: number; output: number },
        suffix = "",
      ) => {
        const usage = { input: u.input, output: u.output, cacheRead: 0, cacheWrite: 0 };
        return recordUsage(
          deps.db,
          {
            provider: tier === "local" ? "bridge" : "overflow",
            model,
            tier,
            usage,
            // The local tier at its GPU price, as the digest and triage meter it.
            costUsd: costUsd(usage, priceFor(model, tier, deps.config.MODEL_PRICES)),
          },
          { key: `${key}${suffix}`, purpose: "review", taskId, projectId: subject.projectId },
        );
      };
      try {
        v = await reviewWithModel(deps.local, subject, runId.slice(-12));
      } catch (err) {
        // Answers that could not be used were still computed: metered before the step fails.
        const spent = spentOf(err);
        if (spent) await meter(spent.model, "local", spent.usage, ":unused");
        // Retried over the configured window; on the last try the fallback tier, if configured.
        const after = afterReviewerFailure(err, {
          attempt,
          retries: REVIEW_RETRIES,
          windowMs: deps.config.FOREMAN_REVIEW_RETRY_MINUTES * 60_000,
          fallback: deps.reviewFallback !== undefined,
        });
        if (after.next === "throw" || !deps.reviewFallback) throw after.next === "throw" ? after.error : err;
        deps.logger.warn("review: local model unavailable, asking the overflow tier", { taskId });
        try {
          v = await reviewWithModel(deps.reviewFallback, subject, runId.slice(-12), "overflow");
        } catch (overflowErr) {
          // The paid tier bills its unusable answers too.
          const paid = spentOf(overflowErr);
          if (paid) await meter(paid.model, "overflow", paid.usage, ":overflow-unused");
          throw overflowErr;
        }
      }
      await meter(v.model, v.tier, v.usage);
      return v;
    });

    const decided = await step.run("decide", async () => {
      await recordReview(deps.db, subject, verdict, `${runId}:review`);
      const moved = await applyVerdict(deps.db, subject, verdict.verdict, `${runId}:decide`);
      await publish(deps, moved.outbox);
      // The verdict as Inngest scores on this run, for the engine's own views; best effort, since the
      // verdict of record is the `reviews` row.
      await Promise.all([
        deps.events.score?.({ runId, name: "review.score", value: verdict.verdict.score }),
        deps.events.score?.({ runId, name: "review.pass", value: verdict.verdict.verdict === "pass" }),
      ]).catch((err: Error) => deps.logger.warn("review: scores not written", { error: err.message }));
      return { state: moved.to, verdict: verdict.verdict.verdict, score: verdict.verdict.score };
    });

    const ref = (stage: StampStage): StageRef => ({
      taskId,
      stage,
      deliverableHash: subject.deliverable.hash,
    });
    const stages: Record<string, StampOutcome> = {};
    if (decided.state === "awaiting_internal_review") {
      stages.internal = await humanStage(step, deps, ref("internal"), runId);
      const o = stages.internal;
      if (o.kind !== "decided" || o.decision !== "approve") return { ...decided, stages };
    } else if (decided.state !== "awaiting_client_review") {
      return decided;
    }
    stages.client = await humanStage(step, deps, ref("client"), runId);
    return { ...decided, stages };
  },
);

type Step = Parameters<Parameters<typeof inngest.createFunction>[1]>[0]["step"];

/** task/stamp.resume: the lost stage on its original clock, then (after an internal approval) the client's. */
async function resumeStages(
  step: Step,
  deps: Deps,
  data: { taskId: string; stage: StampStage; deliverableHash: string; startedAt: string },
  runId: string,
) {
  const ref = (stage: StampStage): StageRef => ({
    taskId: data.taskId,
    stage,
    deliverableHash: data.deliverableHash,
  });
  const resumed = { startedAt: data.startedAt };
  const stages: Record<string, StampOutcome> = {};
  if (data.stage === "internal") {
    stages.internal = await humanStage(step, deps, ref("internal"), runId, resumed);
    const o = stages.internal;
    if (o.kind !== "decided" || o.decision !== "approve") return { state: "resumed", stages };
    stages.client = await humanStage(step, deps, ref("client"), runId);
  } else {
    stages.client = await humanStage(step, deps, ref("client"), runId, resumed);
  }
  return { state: "resumed", stages };
}

/**
 * One human stage: announce, then wait — remind — wait — escalate — wait — deadline, in sequence.
 * `resumed` (task/stamp.resume): the stage began at `startedAt` in a run the engine lost.
 */
async function humanStage(
  step: Step,
  deps: Deps,
  given: StageRef,
  runId: string,
  resumed?: { startedAt: string },
): Promise<StampOutcome> {
  const s = given.stage;
  // The clock is its own step so a retried announce mints the same link (same seed, same time). It
  // also pins the stage entry this run waits in: a decision from an earlier round of a byte-identical
  // resubmission is not this round's, and a newer round is not this run's.
  const clock: StampWindow & { entered?: StageEntry | null } = await step.run(`${s}:clock`, async () => ({
    ...stampWindow(s, resumed ? new Date(resumed.startedAt) : deps.now(), deps.config),
    entered: await readStageEntry(deps.db, given),
  }));
  const { entered, ...window } = clock;
  const ref: StageRef = { ...given, entered };
  const read = () => readStampOutcome(deps.db, ref);
  // A notice no decision depends on (the card's closing update, a reminder, an escalation): Slack
  // failing past the step's retries leaves a line in the log and the stage goes on, instead of ending
  // the run (and with it the stage, until the watchdog's resume a day later).
  // A reminder or escalation that could not be posted is still recorded as passed (posted: false).
  const bestEffort = async (
    id: string,
    what: string,
    post: () => Promise<unknown>,
    milestone?: "reminder" | "escalation",
  ): Promise<void> => {
    try {
      await step.run(id, post);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      await step.run(`${id}:failed`, () =>
        milestone
          ? milestoneNotPosted(deps.db, ref, milestone, why)
          : note(
              deps.db,
              ref.taskId,
              `Could not post ${what} to Slack after retrying (${why.slice(0, 300)}); the stage goes on.`,
            ),
      );
    }
  };
  const settle = async (outcome: StampOutcome): Promise<StampOutcome> => {
    if (s === "internal")
      await bestEffort(`${s}:settle-card`, "the card's update", () => settleCard(deps, ref, outcome));
    return outcome;
  };
  const done = resumed
    ? await step.run(`${s}:resume`, () => readResumeState(deps.db, ref, window.startedAt, deps.now()))
    : undefined;
  if (done && done.outcome.kind !== "waiting") return settle(done.outcome);
  // The card is posted once per version (announceInternal finds it); a link already handed over stays the one.
  if (!done?.linkIssued) {
    await step.run(`${s}:announce`, async () => {
      // The run can lag behind the other channels: a stage already decided (through HubSpot or the
      // API) or a task cancelled since is not announced — above all, no client link is handed out
      // for a decision that is over. The first check below then settles it.
      const now = await read();
      if (now.kind !== "waiting") return { announced: false, outcome: now.kind };
      return s === "internal"
        ? announceInternal(deps, ref)
        : announceClient(deps, ref, {
            seed: `${runId}:${ref.deliverableHash}`,
            now: new Date(done ? done.resumedAt : window.startedAt),
          });
    });
  }
  for (const { phase, from, until } of phasesOf(window)) {
    // A resumed stage does not wait again for what is already over (it would only time out); the
    // phase it resumes in is waited from the resume, short piece first, like a fresh one.
    const start = done && Date.parse(done.resumedAt) > Date.parse(from) ? done.resumedAt : from;
    const pieces = done && Date.parse(until) <= Date.parse(start) ? [] : waitPieces(start, until);
    for (const [i, pieceEnd] of pieces.entries()) {
      const before = await step.run(`${s}:check:${phase}:${i}`, read);
      if (before.kind !== "waiting") return settle(before);
      const stamped = await step.waitForEvent(`${s}:wait:${phase}:${i}`, {
        event: taskStamped,
        timeout: new Date(pieceEnd),
        if: `async.data.taskId == ${JSON.stringify(ref.taskId)} && async.data.stage == ${JSON.stringify(s)}`,
      });
      // The event says a decision was written; the table says which one, for this exact version.
      if (stamped && stamped.data.taskId === ref.taskId) {
        const seen = await step.run(`${s}:stamped:${phase}:${i}`, read);
        if (seen.kind !== "waiting") return settle(seen);
      }
    }
    const after = await step.run(`${s}:recheck:${phase}`, read);
    if (after.kind !== "waiting") return settle(after);
    if (phase === "remind") {
      if (!done?.reminded)
        await bestEffort(
          `${s}:remind`,
          "the reminder",
          () => remind(deps, ref, window, deps.now()),
          "reminder",
        );
    } else if (phase === "escalate") {
      if (!done?.escalated)
        await bestEffort(
          `${s}:escalate`,
          "the escalation",
          () => escalate(deps, ref, window, deps.now()),
          "escalation",
        );
    } else {
      await step.run(`${s}:expire`, async () => {
        const r = await expire(deps, ref, `${runId}:${s}:expire`);
        await publish(deps, r.outbox);
        return r.moved;
      });
      return settle(await step.run(`${s}:final`, read));
    }
  }
  return settle(await step.run(`${s}:final`, read));
}
