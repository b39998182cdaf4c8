// review-retry: the scheduled retry of parked reviews. A review whose local model stayed down past
// its retries is parked (`review_pending`, the task still `working`, the work kept); every ten
// minutes this re-sends `task/work.submitted` for each one still owed, under an id per parking, so
// the review runs again once the model is back — and never passes anything by itself. Each retry is
// a `watchdog` event with its outbox row, written together (lib/watchdog/record.ts).
import { cron } from "inngest";
import type { OutboxMessage } from "../lib/outbox/message.ts";
import { publish } from "../lib/outbox/publish.ts";
import { findParkedReviews, RETRY_EVENT_PREFIX, retryEvent } from "../lib/review/parked.ts";
import { recordAction } from "../lib/watchdog/record.ts";
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
    // One statement per parking: the watchdog event (keyed by the parking, so a re-run of this step
    // writes nothing more) and the outbox row it owes; then the rows are published — the drain
    // delivers them if the engine is down.
    await step.run("resend", async () => {
      const at = deps.now().toISOString();
      const outbox: OutboxMessage[] = [];
      for (const p of parked) {
        const event = retryEvent(p);
        const r = await recordAction(deps.db, {
          taskId: p.taskId,
          key: `${RETRY_EVENT_PREFIX}${p.deliverableId}:${p.parkedEventId}`,
          payload: { action: "review_retried", at, parkedEventId: p.parkedEventId, eventId: event.id ?? "" },
          emit: [event],
        });
        outbox.push(...r.outbox);
      }
      await publish(deps, outbox);
    });
    return { retried: parked.length, tasks: parked.map((p) => p.taskId) };
  },
);
