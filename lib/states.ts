// The task lifecycle (DESIGN §2) as data: the nine states and every legal transition. This table is the
// only definition of the state machine; the schema enum, the API and the functions all read it.

export const TASK_STATES = [
  "intake",
  "ready",
  "working",
  "awaiting_internal_review",
  "awaiting_client_review",
  "done",
  "blocked_external",
  "failed_needs_triage",
  "cancelled",
] as const;

export type TaskState = (typeof TASK_STATES)[number];

export interface TransitionRule {
  from: TaskState;
  to: TaskState;
  when: string;
}

export const TERMINAL_STATES: readonly TaskState[] = ["done", "cancelled"];

/** The human stamp stages, and the state a task waits in for each. */
export const STAMP_STAGES = ["internal", "client"] as const;
export type StampStage = (typeof STAMP_STAGES)[number];
export const STAGE_STATE: Record<StampStage, TaskState> = {
  internal: "awaiting_internal_review",
  client: "awaiting_client_review",
};
/** The stage a state waits for, if it is a stamp stage. */
export const stageOf = (state: TaskState): StampStage | undefined =>
  STAMP_STAGES.find((stage) => STAGE_STATE[stage] === state);

/** The path of a task that goes right: the first six states, in order. */
export const HAPPY_PATH: readonly TaskState[] = TASK_STATES.slice(0, 6);

const RULES: readonly TransitionRule[] = [
  { from: "intake", to: "ready", when: "triaged and every dependency is done" },
  { from: "intake", to: "blocked_external", when: "missing input" },
  { from: "intake", to: "failed_needs_triage", when: "triage failed" },
  { from: "ready", to: "working", when: "the scheduler leased a worker slot" },
  {
    from: "working",
    to: "ready",
    when: "AI review failed with revisions left: back to the queue with feedback",
  },
  {
    from: "working",
    to: "awaiting_internal_review",
    when: "AI review failed twice, or a human is required, or the worker asked for one",
  },
  {
    from: "working",
    to: "awaiting_client_review",
    when: "AI review passed and no internal stamp is required",
  },
  { from: "working", to: "blocked_external", when: "the worker needs something from outside" },
  {
    from: "working",
    to: "failed_needs_triage",
    when: "error after retries, token cap, auth loss, or stuck past the watchdog limit",
  },
  { from: "awaiting_internal_review", to: "awaiting_client_review", when: "a human approved" },
  { from: "awaiting_internal_review", to: "ready", when: "a human requested changes" },
  { from: "awaiting_client_review", to: "done", when: "the client approved" },
  { from: "awaiting_client_review", to: "ready", when: "the client requested changes" },
  { from: "awaiting_internal_review", to: "blocked_external", when: "no stamp before the final deadline" },
  { from: "awaiting_client_review", to: "blocked_external", when: "no stamp before the final deadline" },
  { from: "blocked_external", to: "ready", when: "unblocked" },
  { from: "failed_needs_triage", to: "ready", when: "retry" },
  { from: "failed_needs_triage", to: "done", when: "skipped to unblock dependents" },
  // Any non-terminal state may be cancelled (withdrawn, rejected, dropped).
  ...TASK_STATES.filter((s) => !TERMINAL_STATES.includes(s)).map(
    (from): TransitionRule => ({ from, to: "cancelled", when: "cancelled" }),
  ),
];

export const TRANSITIONS: readonly TransitionRule[] = RULES;

const ALLOWED = new Map<TaskState, ReadonlySet<TaskState>>(
  TASK_STATES.map((s) => [s, new Set(RULES.filter((r) => r.from === s).map((r) => r.to))]),
);

export const isTaskState = (value: unknown): value is TaskState =>
  typeof value === "string" && (TASK_STATES as readonly string[]).includes(value);

export const canTransition = (from: TaskState, to: TaskState): boolean => ALLOWED.get(from)?.has(to) ?? false;

export const nextStates = (from: TaskState): TaskState[] => [...(ALLOWED.get(from) ?? [])];

export const isTerminal = (state: TaskState): boolean => TERMINAL_STATES.includes(state);
