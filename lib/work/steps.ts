// The work loop's room in the engine. Inngest runs at most 1,000 steps per function run; a run that
// reaches the limit fails outright, so the loop has to stop short of it on its own and end the way
// every other limit ends (the finish and release steps still run). A model asking for many tool
// calls in one turn is capped per turn too: the calls past the cap come back to it as error results,
// never executed, so it can ask again next turn.

/** Tool calls executed from one model turn; the rest are answered "not executed". */
export const MAX_TOOL_CALLS_PER_TURN = 16;

/** Steps a run takes outside the turns and tools: load, then submit or finish, and release. */
export const STEPS_OUTSIDE_LOOP = 3;

/** Steps still free for turns and tool calls, given the steps the loop has used so far. */
export const loopStepsLeft = (limit: number, loopStepsUsed: number): number =>
  limit - STEPS_OUTSIDE_LOOP - loopStepsUsed;

/**
 * Whether another turn fits: the turn itself and the one step every turn keeps for a `submit` or
 * `block` (a terminal call always runs, even past the turn's cap: finished work is never refused).
 */
export const turnFits = (stepsLeft: number): boolean => stepsLeft >= 2;

/** How many of a turn's other (non-terminal) calls run, after the turn's step and the terminal's. */
export const toolCallsAllowed = (calls: number, stepsLeft: number): number =>
  Math.max(0, Math.min(calls, MAX_TOOL_CALLS_PER_TURN, stepsLeft - 2));

/** How many of a turn's calls (by tool name) the cap leaves out: non-terminal ones past `allowed`. */
export function callsSkipped(
  names: readonly string[],
  stepsLeft: number,
  terminal: ReadonlySet<string>,
): number {
  const others = names.filter((n) => !terminal.has(n)).length;
  return others - toolCallsAllowed(others, stepsLeft);
}

/** The error result for a call left out: by the per-turn cap, or because the run is out of steps. */
export const skippedCallMessage = (calls: number, stepsLeft: number): string =>
  calls > MAX_TOOL_CALLS_PER_TURN && stepsLeft - 2 >= MAX_TOOL_CALLS_PER_TURN
    ? `Not executed: at most ${MAX_TOOL_CALLS_PER_TURN} tool calls run from one turn. Ask for it again in your next turn if it is still needed.`
    : "Not executed: this run is almost out of engine steps; only `submit` or `block` still run.";
