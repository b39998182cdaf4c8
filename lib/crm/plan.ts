// What one task's ticket needs, decided from state alone (no I/O): the task as it is now against
// what crm_links says was last pushed. Convergent by construction — an out-of-order, duplicate or
// stale `task/state.changed` leads to the same answer, because the event is never consulted, only
// the rows. A ticket is written when its stage or last_event_id differs; the target is the ticket we
// know, else the task's own HubSpot ticket (source_ref), else — after a create whose answer may have
// been lost — the ticket holding this task_id, else a new ticket.
import type { SetupMapping } from "../hubspot/setup-mapping.ts";
import { taskPageUrl } from "../links.ts";
import { isTerminal, type TaskState } from "../states.ts";

export interface SyncTask {
  id: string;
  status: TaskState;
  version: number;
  lastEventId: number | null;
  source: "api" | "hubspot" | "agent" | "schedule";
  sourceRef: string | null;
  dryRun: boolean;
  title: string;
  revisionCount: number;
  workerId: string | null;
  /** Another task whose link holds this task's own HubSpot ticket (source_ref): foreman made it for that task. */
  ticketOwnedBy?: string | null;
}

export interface SyncLink {
  ticketId: string | null;
  pushedStageId: string | null;
  lastSyncedEventId: number | null;
  createAttempted: boolean;
  refusedVersion: number | null;
  wouldDoEventId: number | null;
}

export type TicketWrite =
  | { via: "id"; ticketId: string; properties: Record<string, string> }
  | { via: "task_id"; properties: Record<string, string> }
  | { via: "create"; properties: Record<string, string> };

export type SyncPlan =
  | { kind: "in_step" }
  /** Nothing foreman may write: a HubSpot ticket that ended before it was ever ours (see planSync). */
  | { kind: "not_ours"; reason: string }
  /** HubSpot refused this very version of the task; it is tried again when the task moves. */
  | { kind: "refused" }
  | { kind: "would_do"; write: TicketWrite }
  | { kind: "write"; write: TicketWrite };

export interface PlanOptions {
  /** FOREMAN_DRY_RUN (the task's own flag is read from the task). */
  dryRun: boolean;
  /** FOREMAN_PUBLIC_URL: the task_url is built on it; without it no task_url is written. */
  publicUrl: string | undefined;
}

/** HubSpot's subject limit is generous; a title is one line and short anyway. */
const SUBJECT_MAX = 250;

/** The ticket properties that mirror the task (setup:hubspot created each of them). */
export function ticketProperties(
  task: SyncTask,
  mapping: SetupMapping,
  publicUrl: string | undefined,
): Record<string, string> {
  const props: Record<string, string> = {
    hs_pipeline: mapping.pipelineId,
    hs_pipeline_stage: mapping.stageIds[task.status],
    task_id: task.id,
    last_event_id: task.lastEventId === null ? "" : String(task.lastEventId),
    revision_count: String(task.revisionCount),
  };
  if (publicUrl) props.task_url = taskPageUrl(publicUrl, task.id);
  if (task.workerId) props.worker = task.workerId;
  return props;
}

function target(task: SyncTask, link: SyncLink | undefined, props: Record<string, string>, dry: boolean) {
  if (link?.ticketId) return { via: "id" as const, ticketId: link.ticketId, properties: props };
  if (task.source === "hubspot" && task.sourceRef) {
    return { via: "id" as const, ticketId: task.sourceRef, properties: props };
  }
  // A create already went out (live), or was already recorded as would-do (dry-run): the ticket, if it
  // exists, is found by the unique task_id instead of being created twice.
  const created = dry
    ? link?.wouldDoEventId !== null && link?.wouldDoEventId !== undefined
    : link?.createAttempted;
  if (created) return { via: "task_id" as const, properties: props };
  return asCreate(task, props);
}

/** A create of the task's ticket: its properties plus the subject HubSpot requires (the title). */
export const asCreate = (task: SyncTask, props: Record<string, string>): TicketWrite => ({
  via: "create",
  properties: { subject: task.title.slice(0, SUBJECT_MAX), ...props },
});

export function planSync(
  task: SyncTask,
  link: SyncLink | undefined,
  mapping: SetupMapping,
  opts: PlanOptions,
): SyncPlan {
  // A HubSpot ticket becomes foreman's when its task is first synced (it moves into the foreman
  // pipeline). A task that ended before that — withdrawn at intake because its ticket is in a pipeline
  // foreman does not watch — leaves the ticket where it is: it was never foreman's to move.
  // The creation webhook of a ticket foreman made for another task: that ticket is the other task's.
  if (task.source === "hubspot" && !link?.ticketId && task.ticketOwnedBy) {
    return {
      kind: "not_ours",
      reason: `ticket ${task.sourceRef} is foreman's own ticket for task ${task.ticketOwnedBy}`,
    };
  }
  if (task.source === "hubspot" && !link?.ticketId && !link?.wouldDoEventId && isTerminal(task.status)) {
    return {
      kind: "not_ours",
      reason: `the HubSpot ticket's task ended (${task.status}) before it was synced`,
    };
  }
  const props = ticketProperties(task, mapping, opts.publicUrl);
  if (opts.dryRun || task.dryRun) {
    if (link?.wouldDoEventId !== undefined && link.wouldDoEventId === task.lastEventId)
      return { kind: "in_step" };
    return { kind: "would_do", write: target(task, link, props, true) };
  }
  if (
    link?.ticketId &&
    link.pushedStageId === props.hs_pipeline_stage &&
    link.lastSyncedEventId === task.lastEventId
  ) {
    return { kind: "in_step" };
  }
  if (link?.refusedVersion === task.version) return { kind: "refused" };
  return { kind: "write", write: target(task, link, props, false) };
}
