// review-retry: the scheduled retry of parked reviews. A review whose local model stayed down past
// its retries is parked (`review_pending`, the task still `working`, the work kept); every ten
// minutes this re-sends `task/work.submitted` for each one still owed, under an id per parking, so
// the review runs again once the model is back — and never passes anything by itself.
import { cron } from "inngest";
import { findParkedReviews, retryEvent } from "../lib/review/parked.ts";
import { appendEvents } from "../lib/tasks/event-log.ts";
import { inngest } from "./client.ts";

/** A parking younger than this is left alone: the model just failed, give it a moment. */
const PAUSE_MINUTES = 10;

export const reviewRetry = inngest.createFunction(
  {
    id: "review-retry",
    name: "Retry parked reviews",
    retries: 2,
    singleton: { mode: "skip" },
    triggers: [cron("*/10 * * * *")],
  },
  async ({ step, deps }) => {
    const parked = await step.run("find-parked", () =>
      findParkedReviews(deps.db, {
        parkedBefore: new Date(deps.now().getTime() - PAUSE_MINUTES * 60_000),
        limit: 100,
      }),
    );
    if (parked.length === 0) return { retried: 0 };
    // Each id names one parking: a re-run of this step re-sends ids the engine already has. The log
    // says each retry was asked for (a repeated step writes the line again; the send is deduplicated).
    await step.run("resend", async () => {
      const events = parked.map(retryEvent);
      await appendEvents(
        deps.db,
        parked.map((p, i) => ({
          taskId: p.taskId,
          actor: "review-retry",
          kind: "watchdog" as const,
          payload: { action: "review_retried", parkedEventId: p.parkedEventId, eventId: events[i]?.id ?? "" },
        })),
      );
      await deps.events.send(events);
    });
    return { retried: parked.length, tasks: parked.map((p) => p.taskId) };
  },
);
