// promote: when a task reaches `done`, move its dependents whose dependencies are all done to `ready`
// (O(dependents)), then fan out their state changes and `task/ready` for the scheduler.
import { taskReady, taskStateChanged } from "../lib/events.ts";
import { promoteDependents } from "../lib/tasks/promote.ts";
import { stateChangedEvent } from "../lib/tasks/transition.ts";
import { inngest } from "./client.ts";

export const promote = inngest.createFunction(
  {
    id: "promote",
    name: "Promote dependents of a finished task",
    retries: 4,
    triggers: [{ event: taskStateChanged, if: "event.data.to == 'done'" }],
  },
  async ({ event, step, deps }) => {
    const promoted = await step.run("promote-dependents", () =>
      promoteDependents(deps.db, event.data.taskId, "fn:promote"),
    );
    if (promoted.length > 0) {
      await step.sendEvent(
        "fan-out",
        promoted.flatMap((r) => [
          stateChangedEvent(r),
          taskReady.create({ taskId: r.taskId }, { id: `task-ready:${r.taskId}:${r.version}` }),
        ]),
      );
    }
    return { promoted: promoted.map((r) => r.taskId) };
  },
);
