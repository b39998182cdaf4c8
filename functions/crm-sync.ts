// crm-sync: a task changed state — or arrived through the API, an agent or a schedule, whose ticket is
// created while it is in intake (a HubSpot ticket is left where it is until intake has read it) — so
// its HubSpot ticket may be behind. Debounced per task: a burst of changes settles into one run
// carrying the last event, and a task that never settles still runs after CRM_SYNC_DEBOUNCE_MAX; one
// run per task at a time. The run is state-based: it reads the task and crm_links, not the event, so
// out-of-order and duplicate events change nothing. A ticket that is behind becomes a
// `crm/push.requested` for crm-push, which batches and throttles the HubSpot writes (Inngest's debounce
// does not work with batched functions, hence two functions); in dry-run the exact request is
// recorded as a WOULD_DO here and nothing is sent.
import { loadEnv } from "../lib/config.ts";
import { crmFlowControl, parseCrmFlow } from "../lib/crm/flow.ts";
import { requestSync } from "../lib/crm/sync.ts";
import { taskStateChanged, taskSubmitted } from "../lib/events.ts";
import { inngest } from "./client.ts";

const flow = crmFlowControl(parseCrmFlow(loadEnv()));

export const crmSync = inngest.createFunction(
  {
    id: "crm-sync",
    name: "Keep a task's HubSpot ticket in step",
    retries: 5,
    triggers: [taskStateChanged, { event: taskSubmitted, if: "event.data.source != 'hubspot'" }],
    debounce: { key: "event.data.taskId", period: flow.debounce.period, timeout: flow.debounce.timeout },
    concurrency: [{ limit: 1, key: "event.data.taskId" }],
  },
  async ({ event, step, deps }) => step.run("compare", () => requestSync(deps, event.data.taskId)),
);
