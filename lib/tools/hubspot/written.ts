// How a write tool answers: what HubSpot made, or — in dry-run — that the exact request was recorded
// as WOULD_DO and nothing was sent. The executor turns `wouldDo` into `would_do` task events.
import { data, type ToolOutput } from "../contract.ts";
import type { WriteOutcome } from "../crm/writer.ts";

export const DRY_RUN_NOTE =
  "Dry-run: this write was recorded as WOULD_DO with its exact request and was not sent to HubSpot. " +
  "Nothing changed in the CRM and no id exists for it; carry on as planned and list the recorded writes in your deliverable.";

export function written<T>(outcome: WriteOutcome<T>, done: (value: T) => unknown): ToolOutput {
  if (outcome.kind === "done") return data(done(outcome.value));
  const { request } = outcome;
  return data({ dryRun: true, recorded: `${request.method} ${request.path}`, note: DRY_RUN_NOTE }, request);
}
