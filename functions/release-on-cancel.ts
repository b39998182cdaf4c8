// release-on-cancel: a cancelled task's work run stops at its next step (work's cancelOn) and never
// reaches its own `finally`, so this frees the slot the run held and tells the scheduler. A request
// naming its run (the watchdog's task/run.cancel.requested, sent when it takes the task back to
// `ready`) frees that run's slot only, never the slot of a newer run leased for the same task.
import { taskCancelRequested, taskRunCancelRequested } from "../lib/events.ts";
import { publish } from "../lib/outbox/publish.ts";
import { releaseRun, releaseTaskRun } from "../lib/work/release.ts";
import { inngest } from "./client.ts";

export const releaseOnCancel = inngest.createFunction(
  {
    id: "release-on-cancel",
    name: "Free the slot of a cancelled task's run",
    retries: 4,
    triggers: [taskCancelRequested, taskRunCancelRequested],
  },
  async ({ event, step, deps }) => {
    return step.run("release", async () => {
      const { taskId, runId } = event.data;
      const r = runId
        ? await releaseRun(deps.db, { runId, status: "cancelled" })
        : await releaseTaskRun(deps.db, taskId);
      await publish(deps, r.outbox);
      return { released: r.released };
    });
  },
);
