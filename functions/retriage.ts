// retriage: a person retried (or unblocked) a task intake never triaged — its ticket could not be
// read, HubSpot refused the token, intake ran out of retries. The task waits where it is while intake's
// own steps (runIntake) enrich it from the ticket and triage it; then it goes to ready, its reason
// carrying the person's retry. A failure to triage it again leaves it there, with the new reason and a
// note (onFailure too). One run per request: the event's id derives from the request's log row.
import { taskRetriageRequested } from "../lib/events.ts";
import { classifyFailure, failureReason } from "../lib/failures.ts";
import { publish } from "../lib/outbox/publish.ts";
import { recordRetriageFailure } from "../lib/tasks/retriage.ts";
import { inngest } from "./client.ts";
import { runIntake } from "./intake.ts";

export const retriage = inngest.createFunction(
  {
    id: "retriage",
    name: "Triage again a task retried before intake could triage it",
    retries: 4,
    triggers: [taskRetriageRequested],
    onFailure: async ({ event, error, step, deps }) => {
      const { taskId, from } = event.data.event.data as { taskId: string; from: "failed_needs_triage" };
      return step.run("note-failure", async () => {
        const cls = classifyFailure(error);
        const failed = await recordRetriageFailure(deps.db, {
          taskId,
          from,
          key: `retriage-failed:${event.data.run_id}`,
          reason: failureReason(
            cls,
            `the retry's triage failed after its retries: ${error.message.slice(0, 300)}`,
          ),
        });
        await publish(deps, failed.outbox);
        return { noted: failed.noted, class: cls };
      });
    },
  },
  async ({ event, step, deps, runId, attempt }) => {
    const { taskId, source, from, reason } = event.data;
    return runIntake({ step, deps, runId, attempt }, { taskId, source, retry: { from, reason } });
  },
);
