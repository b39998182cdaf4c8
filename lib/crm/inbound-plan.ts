// A ticket stage change from HubSpot, classified without a HubSpot read (pure): ignored (setup not
// run, no task behind the ticket, a stage of no foreman state — another pipeline's), our own echo (a
// stage we wrote, at about the time HubSpot says it changed: crm_links keeps our recent writes), in
// step (the ticket already shows the task's state), or a person's move — which becomes a command only
// where the state machine and the channel allow it, and is refused otherwise.
//   → done      from awaiting_client_review: the client's approval (a client stamp, channel crm);
//               from failed_needs_triage: skip (done, to unblock dependents)
//   → ready     from awaiting_client_review: the client asks for changes (a client stamp);
//               from blocked_external: unblock; from failed_needs_triage: retry
//   → cancelled from any open state: cancel
// Every other move is refused: an internal stamp is given in Slack by a listed reviewer, and the
// other stages are foreman's own to set (its functions move tasks there).
import type { CrmPush } from "../../db/schema/crm-links.ts";
import type { SetupMapping } from "../hubspot/setup-mapping.ts";
import { canTransition, isTerminal, TASK_STATES, type TaskState } from "../states.ts";

/** Our write's change, as HubSpot timestamps it, lands within this window around when we sent it. */
export const ECHO_WINDOW = { beforeMs: 10_000, afterMs: 30_000 } as const;

export interface StageChange {
  ticketId: string;
  stageId: string;
  occurredAt: number;
  /** How HubSpot says it was changed (CRM_UI: a person in HubSpot's app; our writes come as API or
   *  INTEGRATION). */
  changeSource?: string | undefined;
}

/** Change sources that are a person's hand in HubSpot's own apps: never the echo of a write of ours. */
const BY_HAND = new Set(["CRM_UI", "MOBILE_IOS", "MOBILE_ANDROID"]);

export type CrmCommand =
  | { kind: "client_stamp"; decision: "approve" | "request_changes" }
  | { kind: "cancel" }
  | { kind: "transition"; to: TaskState; reason: string };

export type InboundVerdict =
  | { kind: "ignored"; reason: string }
  | { kind: "echo" }
  | { kind: "in_step" }
  | { kind: "command"; from: TaskState; to: TaskState; command: CrmCommand }
  | { kind: "refused"; from: TaskState; to: TaskState; reason: string };

export const stateOfStage = (mapping: SetupMapping, stageId: string): TaskState | undefined =>
  TASK_STATES.find((s) => mapping.stageIds[s] === stageId);

// By time alone, a person's move to the stage we wrote a moment before (within the window) would
// pass for our echo: a change HubSpot says was made by hand is never one.
export const isEcho = (pushes: readonly CrmPush[], change: StageChange): boolean =>
  !BY_HAND.has(change.changeSource ?? "") &&
  pushes.some(
    (p) =>
      p.stageId === change.stageId &&
      change.occurredAt >= p.at - ECHO_WINDOW.beforeMs &&
      change.occurredAt <= p.at + ECHO_WINDOW.afterMs,
  );

const latestPushOf = (pushes: readonly CrmPush[], stageId: string | undefined): CrmPush | undefined =>
  pushes.reduce<CrmPush | undefined>(
    (last, p) => (p.stageId === stageId && (!last || p.at > last.at) ? p : last),
    undefined,
  );

const STAMP_ONLY_IN_SLACK =
  "an internal stamp is given in Slack by a listed reviewer, not by moving the ticket";

/** What a person moving the ticket from `from` to `to` asks foreman to do, or why it cannot. */
export function commandFor(from: TaskState, to: TaskState): CrmCommand | { refuse: string } {
  if (isTerminal(from)) return { refuse: `the task is already ${from}; it cannot move any more` };
  if (to === "cancelled") return { kind: "cancel" };
  if (to === "done") {
    if (from === "awaiting_client_review") return { kind: "client_stamp", decision: "approve" };
    if (from === "failed_needs_triage" && canTransition(from, to)) {
      return { kind: "transition", to, reason: "skipped in HubSpot (done, to unblock dependents)" };
    }
    if (from === "awaiting_internal_review") return { refuse: STAMP_ONLY_IN_SLACK };
    return { refuse: `only the client's approval finishes a task, and it is ${from}` };
  }
  if (to === "ready") {
    if (from === "awaiting_client_review") return { kind: "client_stamp", decision: "request_changes" };
    if (from === "blocked_external" && canTransition(from, to)) {
      return { kind: "transition", to, reason: "unblocked in HubSpot" };
    }
    if (from === "failed_needs_triage" && canTransition(from, to)) {
      return { kind: "transition", to, reason: "retried from HubSpot" };
    }
    if (from === "awaiting_internal_review") return { refuse: STAMP_ONLY_IN_SLACK };
    return { refuse: `a task that is ${from} is sent back to ready by foreman, not from HubSpot` };
  }
  if (to === "awaiting_client_review" && from === "awaiting_internal_review") {
    return { refuse: STAMP_ONLY_IN_SLACK };
  }
  return { refuse: `foreman moves tasks to ${to} itself; a ticket cannot be moved there by hand` };
}

export interface InboundContext {
  mapping: SetupMapping | undefined;
  /** `enteredEventId`: the log event that moved the task into its current state, if the log has it. */
  task: { id: string; status: TaskState; enteredEventId?: number | undefined } | undefined;
  pushes: readonly CrmPush[];
}

/** How far HubSpot's clock may run ahead of ours before a move is read as made in the current state. */
export const CLOCK_SKEW_MS = 5_000;

export function classifyStageChange(change: StageChange, ctx: InboundContext): InboundVerdict {
  if (!ctx.mapping) return { kind: "ignored", reason: "HubSpot setup has not run (npm run setup:hubspot)" };
  if (!ctx.task)
    return { kind: "ignored", reason: `ticket ${change.ticketId} belongs to no task (no task_id)` };
  const to = stateOfStage(ctx.mapping, change.stageId);
  if (!to) {
    return {
      kind: "ignored",
      reason: `stage ${change.stageId} is not a stage of the foreman pipeline ${ctx.mapping.pipelineId}`,
    };
  }
  if (isEcho(ctx.pushes, change)) return { kind: "echo" };
  const from = ctx.task.status;
  if (to === from) return { kind: "in_step" };
  const command = commandFor(from, to);
  if ("refuse" in command) return { kind: "refused", from, to, reason: command.refuse };
  // A decision is about what the ticket showed: a client's approval (or change request) is for the
  // version the client saw, an unblock for this block, a retry or skip for this failure. A move made
  // before the ticket showed the task's current state — a late or re-delivered event from an earlier
  // round, or a move made while the ticket still showed the state before — must not decide this one.
  // This round's pushes are those carrying an event id from its entry on (ids, not clocks); with
  // pushes on record but none of this round's yet, the ticket has not shown it. Otherwise the move
  // must come after our latest push of the stage, both times HubSpot-facing clocks, as for echoes. A
  // cancel stands whenever it was made: it means the task, not one of its states.
  if (command.kind === "client_stamp" || command.kind === "transition") {
    const what =
      command.kind === "client_stamp"
        ? "this version for review"
        : `the task as ${from.replaceAll("_", " ")}`;
    const entered = ctx.task.enteredEventId;
    const round = entered === undefined ? ctx.pushes : ctx.pushes.filter((p) => p.eventId >= entered);
    if (ctx.pushes.length > 0 && round.length === 0) {
      return {
        kind: "refused",
        from,
        to,
        reason: `the ticket was moved before it showed ${what} (the task moved since, and the ticket has not been updated yet); move it again to decide on what it shows now`,
      };
    }
    const shown = latestPushOf(round, ctx.mapping.stageIds[from]);
    if (shown && change.occurredAt + CLOCK_SKEW_MS < shown.at) {
      return {
        kind: "refused",
        from,
        to,
        reason: `the ticket was moved at ${new Date(change.occurredAt).toISOString()}, before it showed ${what} (${new Date(shown.at).toISOString()}); move it again to decide on what it shows now`,
      };
    }
  }
  return { kind: "command", from, to, command };
}
