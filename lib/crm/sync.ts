// crm-sync's verb: one task, after its changes settled. It compares the task with its link and, when
// the ticket is behind, asks crm-push for the write through the outbox (one request per task event,
// so duplicates collapse) — or, in dry-run, records the exact request as a WOULD_DO and writes
// nothing anywhere else. The helpers here are shared with crm-push's verb (push.ts).
import type { Deps } from "../deps.ts";
import { crmPushRequested } from "../events.ts";
import { loadSetupMapping, type SetupMapping } from "../hubspot/setup-mapping.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { publish } from "../outbox/publish.ts";
import { recordOutbox } from "../outbox/record.ts";
import { loadSyncStates, recordWouldDo, type SyncState } from "./links.ts";
import { planSync, type TicketWrite } from "./plan.ts";
import type { TicketRow } from "./tickets.ts";
import { wouldDo } from "./would-do.ts";

export type SyncDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now" | "hubspot">;

export type RequestOutcome =
  | { outcome: "in_step" | "refused" | "would_do" | "requested" }
  | { outcome: "skipped"; reason: string };

export const NO_SETUP = "HubSpot setup has not run (npm run setup:hubspot): no pipeline to sync to";

export const planOf = (deps: SyncDeps, s: SyncState, mapping: SetupMapping) =>
  planSync(s.task, s.link, mapping, {
    dryRun: deps.config.FOREMAN_DRY_RUN,
    publicUrl: deps.config.FOREMAN_PUBLIC_URL,
  });

export const rowOf = (s: SyncState, write: TicketWrite): TicketRow => ({
  taskId: s.task.id,
  write,
  companyId: s.companyId,
});

/** crm-sync: one task, after its changes settled. */
export async function requestSync(deps: SyncDeps, taskId: string): Promise<RequestOutcome> {
  const [mapping, [state]] = await Promise.all([
    loadSetupMapping(deps.db),
    loadSyncStates(deps.db, [taskId]),
  ]);
  if (!mapping) {
    deps.logger.warn("crm-sync: skipped", { taskId, reason: NO_SETUP });
    return { outcome: "skipped", reason: NO_SETUP };
  }
  if (!state) return { outcome: "skipped", reason: `task ${taskId} does not exist` };
  const plan = planOf(deps, state, mapping);
  if (plan.kind === "in_step" || plan.kind === "refused") return { outcome: plan.kind };
  if (plan.kind === "not_ours") return { outcome: "skipped", reason: plan.reason };
  if (plan.kind === "would_do") {
    const request = await wouldDo(rowOf(state, plan.write));
    await recordWouldDo(deps.db, [{ taskId, eventId: state.task.lastEventId, request }]);
    return { outcome: "would_do" };
  }
  if (!deps.hubspot) {
    const reason = "HUBSPOT_ACCESS_TOKEN is not set: tickets cannot be written";
    deps.logger.warn("crm-sync: skipped", { taskId, reason });
    return { outcome: "skipped", reason };
  }
  // One request per task event: re-deliveries and duplicate state.changed events collapse into it.
  const push: OutboxMessage = {
    eventId: `crm-push:${taskId}:${state.task.lastEventId ?? 0}`,
    name: crmPushRequested.name,
    data: { taskId },
  };
  await recordOutbox(deps.db, [push]);
  await publish(deps, [push]);
  return { outcome: "requested" };
}
