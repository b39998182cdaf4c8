// release-on-cancel: a cancelled task's work run stops at its next step (work's cancelOn) and never
// reaches its own `finally`, so this frees the slot the run held and tells the scheduler.
import { taskCancelRequested } from "../lib/events.ts";
import { publish } from "../lib/outbox/publish.ts";
import { releaseTaskRun } from "../lib/work/release.ts";
import { inngest } from "./client.ts";

export const releaseOnCancel = inngest.createFunction(
  {
    id: "release-on-cancel",
    name: "Free the slot of a cancelled task's run",
    retries: 4,
    triggers: [taskCancelRequested],
  },
  async ({ event, step, deps }) => {
    return step.run("release", async () => {
      const r = await releaseTaskRun(deps.db, event.data.taskId);
      await publish(deps, r.outbox);
      return { released: r.released };
    });
  },
);
