// The lifecycle test router: delivers every event the functions publish (through the recording
// sender the Deps carry) to the functions whose triggers match, one run at a time, until nothing is
// left — so a scenario runs submit → intake → … end to end without an Inngest engine. Triggers are
// matched by name and by their `if` filters (the dev engine's expression slice, fakes/inngest-expr.ts); cron
// triggers never fire here. Each delivered event id runs a function once (the engine's dedup).
// With `retries`, a run that fails retryably is run again as the engine would (its completed steps
// replayed, the attempt counter raised, up to the function's retries), with no wait in between.
import { toInngestError } from "../functions/errors.ts";
import type { Deps } from "../lib/deps.ts";
import type { OutgoingEvent } from "../lib/events.ts";
import type { RecordingSender } from "./deps.ts";
import { evaluate } from "./fakes/inngest-expr.ts";
import { type AttemptState, type RunOptions, runFunction, suspendedAt } from "./inngest.ts";

type Fn = Parameters<typeof runFunction>[0] & {
  id(): string;
  opts: {
    triggers?: { event?: string | { name: string }; if?: string; cron?: string }[] | object;
    retries?: number;
  };
};

export interface LifecycleRun {
  fn: string;
  event: string;
  eventId: string | undefined;
  /** The task the triggering event was about, when it names one. */
  taskId: string | undefined;
  /** Engine steps the run executed (step.run, step.sendEvent, …), as the test engine counted them. */
  steps: number;
  /** How many times it ran (1 unless `retries` retried it). */
  attempts: number;
  result: unknown;
  error: unknown;
  /** The wait the run is suspended at (a real engine would resume it on its event or timeout). */
  suspended: string | undefined;
}

/** Engine steps per task over a set of runs (seed 003: orchestration cost is counted, not guessed). */
export const stepsPerTask = (runs: LifecycleRun[]): Map<string, number> => {
  const out = new Map<string, number>();
  for (const r of runs) if (r.taskId) out.set(r.taskId, (out.get(r.taskId) ?? 0) + r.steps);
  return out;
};

type Trigger = { event?: string | { name: string }; if?: string };

function matches(trigger: Trigger, e: OutgoingEvent): boolean {
  const name = typeof trigger.event === "string" ? trigger.event : trigger.event?.name;
  if (name !== e.name) return false;
  return !trigger.if || evaluate(trigger.if, { event: { data: e.data } });
}

const triggersOf = (fn: Fn): Trigger[] =>
  (Array.isArray(fn.opts.triggers) ? fn.opts.triggers : [fn.opts.triggers ?? {}]) as Trigger[];

/** The functions an event starts (what the engine would deliver it to). */
export const consumersOf = <F extends Fn>(functions: readonly F[], e: OutgoingEvent): F[] =>
  functions.filter((fn) => triggersOf(fn).some((t) => matches(t, e)));

/** What a sender's events have already been routed: the engine never delivers an id twice. */
const progress = new WeakMap<RecordingSender, { cursor: number; delivered: Set<string> }>();

export async function routeEvents(
  functions: readonly Fn[],
  deps: Deps,
  sender: RecordingSender,
  opts: {
    maxRuns?: number;
    /** What happens while a run waits (clicks, link approvals), per run; none → the run suspends. */
    waits?: (run: { fn: string; event: OutgoingEvent }) => RunOptions["waits"];
    /** Retry failed runs as the engine does (default: a failed run is recorded as failed at once). */
    retries?: boolean;
  } = {},
): Promise<LifecycleRun[]> {
  const runs: LifecycleRun[] = [];
  let state = progress.get(sender);
  if (!state) {
    state = { cursor: 0, delivered: new Set() };
    progress.set(sender, state);
  }
  const { delivered } = state;
  while (state.cursor < sender.sent.length) {
    const e = sender.sent[state.cursor++] as OutgoingEvent;
    if (e.id) {
      if (delivered.has(e.id)) continue;
      delivered.add(e.id);
    }
    for (const fn of consumersOf(functions, e)) {
      if (runs.length >= (opts.maxRuns ?? 200)) throw new Error("lifecycle router: too many runs (a loop?)");
      const waits = opts.waits ? { waits: opts.waits({ fn: fn.id(), event: e }) ?? [] } : {};
      const state: AttemptState = { memo: new Map() };
      let attempt = 0;
      let steps = 0;
      let res: Awaited<ReturnType<typeof runFunction>>;
      for (;;) {
        state.thrown = undefined;
        res = await runFunction(fn, {
          deps,
          event: {
            name: e.name,
            data: (e.data ?? {}) as Record<string, unknown>,
            ...(e.id ? { id: e.id } : {}),
          },
          ...waits,
          ...(opts.retries ? { attempts: state, attempt } : {}),
        });
        const step = res.ctx.step as unknown as Record<string, { mock?: { calls: unknown[] } }>;
        steps += Object.values(step).reduce((n, spy) => n + (spy?.mock?.calls.length ?? 0), 0);
        if (!opts.retries || res.error === undefined || suspendedAt(res.error)) break;
        // The edge's verdict (functions/errors.ts) on the error the step body threw.
        const verdict = (state.thrown === undefined ? res.error : toInngestError(state.thrown)) as {
          name?: string;
        };
        if (verdict?.name === "NonRetriableError" || attempt >= (fn.opts.retries ?? 3)) break;
        attempt++;
      }
      const taskId = (e.data as { taskId?: unknown } | undefined)?.taskId;
      runs.push({
        fn: fn.id(),
        event: e.name,
        eventId: e.id,
        taskId: typeof taskId === "string" ? taskId : undefined,
        steps,
        attempts: attempt + 1,
        result: res.result,
        error: suspendedAt(res.error) ? undefined : res.error,
        suspended: suspendedAt(res.error),
      });
    }
  }
  return runs;
}
