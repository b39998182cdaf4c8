// crm-push: writes the tickets crm-sync found behind, many tasks per HubSpot call. Events are batched
// (up to 100 tasks, gathered for CRM_SYNC_BATCH_WAIT), run starts are throttled account-wide
// (CRM_SYNC_THROTTLE_LIMIT per CRM_SYNC_THROTTLE_PERIOD, below HubSpot's 10-second limit: a run makes
// one batch update and at most one batch create in the normal case), and one batch runs at a time, so
// two writes of one task never race. The step re-reads every task and writes only what still differs.
// A 429 is retried after HubSpot's own delay (RetryAfterError through the error middleware), a 5xx
// with backoff; a row HubSpot refuses (4xx) becomes a triage note on its task, never a retry loop.
// A run out of retries (HubSpot down for hours, or refusing foreman's token) is counted and announced
// once per outage (onFailure, lib/crm/outage.ts); the watchdog then re-pushes the drifted tickets, so
// they catch up once HubSpot takes writes again.
import { loadEnv } from "../lib/config.ts";
import { crmFlowControl, parseCrmFlow } from "../lib/crm/flow.ts";
import { isHubSpotFailure, recordPushFailure } from "../lib/crm/outage.ts";
import { pushBatch } from "../lib/crm/push.ts";
import { crmPushRequested } from "../lib/events.ts";
import { publish } from "../lib/outbox/publish.ts";
import { inngest } from "./client.ts";

const flow = crmFlowControl(parseCrmFlow(loadEnv()));

export const crmPush = inngest.createFunction(
  {
    id: "crm-push",
    name: "Write changed HubSpot tickets in batches",
    // Rate limits clear within HubSpot's window; retries cover a long outage of HubSpot too.
    retries: 10,
    triggers: [crmPushRequested],
    batchEvents: { maxSize: flow.batch.maxSize, timeout: flow.batch.timeout },
    throttle: { limit: flow.throttle.limit, period: flow.throttle.period },
    concurrency: [{ limit: 1 }],
    onFailure: async ({ event, error, step, deps }) =>
      step.run("record-failure", async () => {
        if (!isHubSpotFailure(error)) {
          deps.logger.error(
            "crm-push: out of retries on a failure that is not HubSpot's; no outage opened, the watchdog re-pushes drifted tickets",
            { error: error.message },
          );
          return { failures: null, announced: false };
        }
        // When the run failed, not when this report is handled: a push that got through after the
        // failure (this report delayed or redelivered) means the outage, if any, is already over.
        // The engine stamps every event with `ts` (ms), though the failure payload's type omits it.
        const ts = (event as { ts?: unknown }).ts;
        const at = typeof ts === "number" ? new Date(ts) : deps.now();
        const r = await recordPushFailure(deps.db, { runId: event.data.run_id, error, at });
        await publish(deps, r.outbox);
        deps.logger.error("crm-push: out of retries; the watchdog re-pushes drifted tickets", {
          error: error.message,
          failures: r.failures,
          announced: r.opened,
        });
        return { failures: r.failures, announced: r.opened };
      }),
  },
  async ({ events, step, deps }) =>
    step.run("push", () =>
      pushBatch(
        deps,
        events.map((e) => e.data.taskId),
      ),
    ),
);
