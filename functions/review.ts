// review: a submitted deliverable is reviewed against its rubric by the local model (through the GPU
// bridge, from inside a step — never step.ai.infer, which would make Inngest call the bridge), the
// verdict stored once per version, and the task moved: a failed review goes back to `ready` with the
// feedback (at most two automatic revisions, scheduled ahead of fresh work), a third failure goes to
// a person, a pass goes to the client — or to an internal stamp first when the task or project asks.
// A model that stays down parks the review (`review_pending`, the task stays `working`): never a
// pass, never lost; the watchdog retries it.

import { taskWorkSubmitted } from "../lib/events.ts";
import { recordUsage } from "../lib/llm/meter.ts";
import { publish } from "../lib/outbox/publish.ts";
import { applyVerdict, loadReviewSubject, recordReview, reviewWithModel } from "../lib/review/run.ts";
import { eventRecord } from "../lib/tasks/event-kinds.ts";
import { appendEvents } from "../lib/tasks/event-log.ts";
import { inngest } from "./client.ts";

export const review = inngest.createFunction(
  {
    id: "review",
    name: "Review a submitted deliverable against its rubric",
    // Backoff over these retries is the window a down reviewer gets before the review is parked.
    retries: 5,
    concurrency: [{ limit: 2, key: '"local-gpu"', scope: "env" }],
    triggers: [taskWorkSubmitted],
    onFailure: async ({ event, error, step, deps }) => {
      const data = event.data.event.data as { taskId: string; deliverableId: string };
      await step.run("park", () =>
        appendEvents(deps.db, [
          {
            taskId: data.taskId,
            actor: "reviewer:local",
            ...eventRecord("review_pending", {
              reason: `the review could not run: ${error.message.slice(0, 300)}`,
              deliverableId: data.deliverableId,
            }),
          },
        ]),
      );
    },
  },
  async ({ event, step, deps, runId }) => {
    const { taskId, deliverableId } = event.data;
    const subject = await step.run("load", () => loadReviewSubject(deps.db, taskId, deliverableId));
    if (!subject) return { state: "skipped", reason: "no such deliverable" };
    if (!subject.current)
      return { state: "skipped", reason: "the deliverable was superseded or the task moved on" };

    const verdict = await step.run("review", async () => {
      const v = await reviewWithModel(deps.local, subject, runId.slice(-12));
      await recordUsage(
        deps.db,
        {
          provider: "bridge",
          model: v.model,
          tier: "local",
          usage: { input: v.usage.input, output: v.usage.output, cacheRead: 0, cacheWrite: 0 },
          costUsd: 0,
        },
        { key: `${runId}:review`, purpose: "review", taskId, projectId: subject.projectId },
      );
      return v;
    });

    return step.run("decide", async () => {
      await recordReview(deps.db, subject, verdict, `${runId}:review`);
      const moved = await applyVerdict(deps.db, subject, verdict.verdict, `${runId}:decide`);
      await publish(deps, moved.outbox);
      return { state: moved.to, verdict: verdict.verdict.verdict, score: verdict.verdict.score };
    });
  },
);
