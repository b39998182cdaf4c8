// The watchdog's decisions, pure (no I/O, no clock of their own): whether a stuck task is retried or
// triaged, why a lease counts as leaked, when a lost event is due for another re-send, whether a
// human stage's wait was lost, and whether the outbox alert is raised, kept quiet or cleared. The
// checks (lib/watchdog/*.ts) read the rows and the pass's time, and act on what these return.
import type { Config } from "../config.ts";
import { failureReason } from "../failures.ts";
import type { OutboxStatus } from "../outbox/drain.ts";
import { type StampWindow, stampWindow } from "../review/stamp-wait.ts";
import type { StampStage } from "../states.ts";

/** Who the watchdog is in the task log (every event and transition it writes). */
export const WATCHDOG_ACTOR = "watchdog";

/** Every watchdog transition's reason starts so (a move to triage puts its failure class first). */
export const STUCK_REASON_PREFIX = "watchdog: stuck";

/** How many times the watchdog retries a stuck task before it goes to triage. */
export const STUCK_RETRIES = 1;

const MINUTE = 60_000;
/** The longest pause between two re-sends of a lost event. */
const MAX_RESEND_PAUSE_MS = 24 * 60 * MINUTE;

export interface Thresholds {
  stuckMinutes: number;
  lostMinutes: number;
  outboxMinutes: number;
}

export const thresholdsOf = (
  config: Pick<
    Config,
    "FOREMAN_WATCHDOG_STUCK_MINUTES" | "FOREMAN_WATCHDOG_LOST_MINUTES" | "FOREMAN_WATCHDOG_OUTBOX_MINUTES"
  >,
): Thresholds => ({
  stuckMinutes: config.FOREMAN_WATCHDOG_STUCK_MINUTES,
  lostMinutes: config.FOREMAN_WATCHDOG_LOST_MINUTES,
  outboxMinutes: config.FOREMAN_WATCHDOG_OUTBOX_MINUTES,
});

export const minutesBefore = (now: Date, minutes: number): Date => new Date(now.getTime() - minutes * MINUTE);

export interface StuckVerdict {
  to: "ready" | "failed_needs_triage";
  reason: string;
}

/** A stuck working task: the first time back to `ready` (its run cancelled), after that to triage. */
export function stuckVerdict(input: {
  earlierRetries: number;
  minutes: number;
  runId: string | null;
}): StuckVerdict {
  const run = input.runId ? `run ${input.runId} cancelled` : "no run held it";
  const what = `${STUCK_REASON_PREFIX}: no task event for ${input.minutes} minutes`;
  if (input.earlierRetries < STUCK_RETRIES) {
    return {
      to: "ready",
      reason: `${what}; ${run}, retried (${input.earlierRetries + 1} of ${STUCK_RETRIES})`,
    };
  }
  return {
    to: "failed_needs_triage",
    reason: failureReason(
      "timeout",
      `${what} again after ${input.earlierRetries} watchdog ${input.earlierRetries === 1 ? "retry" : "retries"}; ${run}`,
    ),
  };
}

/** Why a lease no longer belongs to a live run, or null when it does. */
export function leakReason(input: {
  runId: string;
  runStatus: string;
  taskStatus: string;
  currentRunId: string | null;
}): string | null {
  if (input.runStatus !== "running") return `its run already ended (${input.runStatus})`;
  if (input.taskStatus !== "working") return `its task is ${input.taskStatus}, not working`;
  if (input.currentRunId !== input.runId) {
    return input.currentRunId
      ? `its task is worked by another run (${input.currentRunId})`
      : "its task is held by no run";
  }
  return null;
}

/** The pause before re-send number `attempt` (1-based): `minutes`, then doubling, at most a day. */
export const resendPauseMs = (attempt: number, minutes: number): number =>
  Math.min(minutes * MINUTE * 2 ** Math.max(0, attempt - 1), MAX_RESEND_PAUSE_MS);

/**
 * Whether a task in intake or ready is due for (another) re-send of the event that should move it:
 * idle `minutes` since its last activity for the first, and each next one after twice the pause
 * before it since the previous re-send — so an event the engine keeps refusing is not re-sent every
 * five minutes forever.
 */
export function resendDue(input: {
  lastActivity: Date;
  lastResend: Date | null;
  attempts: number;
  now: Date;
  minutes: number;
}): boolean {
  const since = Math.max(input.lastActivity.getTime(), input.lastResend?.getTime() ?? 0);
  return input.now.getTime() - since >= resendPauseMs(input.attempts + 1, input.minutes);
}

export type WaitMilestone = "reminder" | "escalation" | "deadline";

export type LostWaitVerdict =
  | { lost: false }
  | { lost: true; missing: WaitMilestone; due: string; window: StampWindow };

type StampClock = Pick<
  Config,
  "FOREMAN_STAMP_REMIND_HOURS" | "FOREMAN_STAMP_ESCALATE_HOURS" | "FOREMAN_STAMP_TIMEOUT_DAYS"
>;

/**
 * The database-visible sign that the engine lost a human stage's wait. A live review run writes a
 * `reminder` event at the stage's reminder time, an `escalation` at its escalation time, and moves
 * the task out of the stage at its deadline (lib/review/stamp-wait.ts's window, counted from the
 * state change into the stage). One of those `graceMinutes` overdue means no run is waiting any
 * more. A stage the watchdog resumed less than `graceMinutes` ago is given time to catch up.
 */
export function lostWait(input: {
  stage: StampStage;
  enteredAt: Date;
  reminded: boolean;
  escalated: boolean;
  lastResume: Date | null;
  now: Date;
  graceMinutes: number;
  clock: StampClock;
}): LostWaitVerdict {
  const grace = input.graceMinutes * MINUTE;
  const now = input.now.getTime();
  if (input.lastResume && now - input.lastResume.getTime() < grace) return { lost: false };
  const window = stampWindow(input.stage, input.enteredAt, input.clock);
  const overdue = (at: string) => now - Date.parse(at) >= grace;
  if (overdue(window.deadline)) return { lost: true, missing: "deadline", due: window.deadline, window };
  if (!input.escalated && overdue(window.escalateAt))
    return { lost: true, missing: "escalation", due: window.escalateAt, window };
  if (!input.reminded && overdue(window.remindAt))
    return { lost: true, missing: "reminder", due: window.remindAt, window };
  return { lost: false };
}

export type OutboxAlertDecision = "alert" | "clear" | "none";

/**
 * Where the alert stands: none raised, one open for the current stall, or a stall over whose notice
 * of lost events is still owed (Slack refused it) — which must not silence the next stall's alert.
 */
export type OutboxAlertState = "none" | "open" | "notice_owed";

/** Stalled = an event unsent for `minutes`; one alert per stall, cleared once the outbox drains. */
export function outboxAlertDecision(
  status: OutboxStatus,
  alert: OutboxAlertState,
  minutes: number,
): OutboxAlertDecision {
  const stalled = status.oldestPendingSeconds !== null && status.oldestPendingSeconds >= minutes * 60;
  if (stalled && alert !== "open") return "alert";
  if (!stalled && alert !== "none") return "clear";
  return "none";
}

/** The alert's text: what is wrong, that nothing is lost, and where to look. */
export function outboxAlertText(status: OutboxStatus): string {
  const minutes = Math.floor((status.oldestPendingSeconds ?? 0) / 60);
  const abandoned =
    status.abandoned > 0
      ? ` ${status.abandoned} more outlived the engine's 24 h dedup window and are set aside (not re-sent).`
      : "";
  return (
    `:rotating_light: foreman's outbox has stopped draining: ${status.pending} event${status.pending === 1 ? "" : "s"} waiting, ` +
    `the oldest for ${minutes} minutes.${abandoned} They are safe in the database, but no function runs on them until they are sent. ` +
    "Check that the engine is reachable (INNGEST_EVENT_KEY, INNGEST_BASE_URL) and that the drain runs; GET /health shows the outbox numbers. " +
    "This alert is not repeated until the outbox has drained."
  );
}
