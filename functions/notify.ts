// notify: Slack only when a person is needed (seed 002: most work is silent). A task that failed and
// needs triage (its failure class and reason, with a Retry button) or is blocked on someone outside
// (the reason) gets a notice in its one thread — under its review card when it has one; the
// scheduler pausing, budget warnings and HubSpot refusing ticket writes (crm/push.failed) go to the
// channel. Routine transitions do not start a run (the triggers filter on the target state) and,
// should one arrive anyway, say nothing. The review
// card of awaiting_internal_review is the review run's. Each notice is one step that looks for its
// own slack_messages / settings row first, so a retry does not post twice; dry-run records WOULD_DO.
import { budgetWarning, crmPushFailed, schedulerPaused, taskStateChanged } from "../lib/events.ts";
import { budgetNotice, crmOutageNotice, pausedNotice } from "../lib/notify/blocks.ts";
import { postOpsNotice } from "../lib/notify/ops.ts";
import { notifyStateChange } from "../lib/notify/state.ts";
import { inngest } from "./client.ts";

export const notify = inngest.createFunction(
  {
    id: "notify",
    name: "Tell a person in Slack when one is needed",
    retries: 5,
    triggers: [
      { event: taskStateChanged, if: "event.data.to == 'failed_needs_triage'" },
      { event: taskStateChanged, if: "event.data.to == 'blocked_external'" },
      schedulerPaused,
      budgetWarning,
      crmPushFailed,
    ],
    // Slack allows about one chat.postMessage per second per channel, with short bursts; every
    // notice goes to the review channel, so the whole function shares one bucket.
    throttle: { limit: 1, period: "1s", burst: 5 },
  },
  async ({ event, step, deps }) => {
    if (event.name === taskStateChanged.name) {
      const { taskId, to, version, eventId, reason } = event.data;
      return step.run("post", () => notifyStateChange(deps, { taskId, to, version, eventId, reason }));
    }
    if (event.name === schedulerPaused.name) {
      const data = event.data;
      const eventId = event.id ?? `scheduler-paused:${data.reason.slice(0, 40)}`;
      return step.run("post", () =>
        postOpsNotice(deps, { eventId, what: "scheduler paused", message: pausedNotice(data) }),
      );
    }
    if (event.name === budgetWarning.name) {
      const data = event.data;
      const eventId = event.id ?? `budget-warning:${data.day}:${data.level}`;
      return step.run("post", () =>
        postOpsNotice(deps, { eventId, what: `budget warning ${data.level} %`, message: budgetNotice(data) }),
      );
    }
    if (event.name === crmPushFailed.name) {
      const data = event.data;
      const eventId = event.id ?? `crm-push-outage:${data.failures}`;
      return step.run("post", () =>
        postOpsNotice(deps, {
          eventId,
          what: "HubSpot ticket writes failing",
          message: crmOutageNotice(data),
        }),
      );
    }
    return { posted: "silent" as const };
  },
);
