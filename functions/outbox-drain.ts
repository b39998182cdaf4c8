// outbox-drain: a third path for the outbox drain (beside the Node timer and the Workers Cron
// Trigger), for deployments where the engine is up but the host's own timer is not running.
// Re-sends are harmless: every row keeps its event id, which the engine deduplicates.
import { cron } from "inngest";
import { drainOutbox } from "../lib/outbox/drain.ts";
import { inngest } from "./client.ts";

export const outboxDrain = inngest.createFunction(
  {
    id: "outbox-drain",
    name: "Re-send unsent outbox events",
    retries: 0,
    singleton: { mode: "skip" },
    triggers: [cron("*/5 * * * *")],
  },
  async ({ step, deps }) => {
    const res = await step.run("drain", () =>
      drainOutbox(deps, { retentionDays: deps.config.FOREMAN_OUTBOX_RETENTION_DAYS }),
    );
    return { sent: res.sent, failed: res.failed, abandoned: res.abandoned.length, pruned: res.pruned };
  },
);
