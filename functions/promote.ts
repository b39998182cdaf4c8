// promote: when a task reaches `done`, move its dependents whose dependencies are all done to `ready`,
// and when it ends either way, resume a parent that waited only for its subtasks; when it is cancelled,
// send its dependents still in intake to triage (class dependency) (O(dependents)). Each move writes
// its own `task/state.changed` (and `task/ready`) to the outbox in the same statement; the step sends
// them after the commit, and the drain covers a crash in between.
import { taskStateChanged } from "../lib/events.ts";
import { publish } from "../lib/outbox/publish.ts";
import { failDependentsOfCancelled, promoteDependents } from "../lib/tasks/promote.ts";
import { inngest } from "./client.ts";

export const promote = inngest.createFunction(
  {
    id: "promote",
    name: "Promote dependents of a finished task",
    retries: 4,
    // Done releases dependents; cancelled releases a parent whose subtask a person dropped.
    triggers: [{ event: taskStateChanged, if: "event.data.to == 'done' || event.data.to == 'cancelled'" }],
  },
  async ({ event, step, deps, runId }) => {
    // Each batch of moves is one step: the moves keyed by the step, their events sent from it.
    const moves = (id: string, move: typeof promoteDependents) =>
      step.run(id, async () => {
        const moved = await move(deps.db, event.data.taskId, {
          actor: "fn:promote",
          keyBase: `${runId}:${id}`,
        });
        await publish(
          deps,
          moved.flatMap((r) => r.outbox),
        );
        return moved.map((r) => r.taskId);
      });
    const promoted = await moves("promote-dependents", promoteDependents);
    if (event.data.to !== "cancelled") return { promoted };
    const failed = await moves("fail-dependents", failDependentsOfCancelled);
    return { promoted, failed };
  },
);
