// The lifecycle test router: delivers every event the functions publish (through the recording
// sender the Deps carry) to the functions whose triggers match, one run at a time, until nothing is
// left — so a scenario runs submit → intake → … end to end without an Inngest engine. Triggers are
// matched by name and by the simple `event.data.<field> == '<value>'` filters foreman uses; cron
// triggers never fire here. Each delivered event id runs a function once (the engine's dedup).
import type { Deps } from "../lib/deps.ts";
import type { OutgoingEvent } from "../lib/events.ts";
import type { RecordingSender } from "./deps.ts";
import { type RunOptions, runFunction, suspendedAt } from "./inngest.ts";

type Fn = Parameters<typeof runFunction>[0] & {
  id(): string;
  opts: { triggers?: { event?: string | { name: string }; if?: string; cron?: string }[] | object };
};

export interface LifecycleRun {
  fn: string;
  event: string;
  eventId: string | undefined;
  /** The task the triggering event was about, when it names one. */
  taskId: string | undefined;
  /** Engine steps the run executed (step.run, step.sendEvent, …), as the test engine counted them. */
  steps: number;
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

function matches(trigger: { event?: string | { name: string }; if?: string }, e: OutgoingEvent): boolean {
  const name = typeof trigger.event === "string" ? trigger.event : trigger.event?.name;
  if (name !== e.name) return false;
  if (!trigger.if) return true;
  const m = /^event\.data\.(\w+)\s*(==|!=)\s*'([^']*)'$/.exec(trigger.if.trim());
  if (!m) throw new Error(`lifecycle router: cannot evaluate trigger filter ${trigger.if}`);
  const value = String((e.data as Record<string, unknown> | undefined)?.[m[1] as string]);
  return m[2] === "==" ? value === m[3] : value !== m[3];
}

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
    for (const fn of functions) {
      const triggers = Array.isArray(fn.opts.triggers) ? fn.opts.triggers : [fn.opts.triggers ?? {}];
      if (!triggers.some((t) => matches(t as never, e))) continue;
      if (runs.length >= (opts.maxRuns ?? 200)) throw new Error("lifecycle router: too many runs (a loop?)");
      const res = await runFunction(fn, {
        deps,
        event: {
          name: e.name,
          data: (e.data ?? {}) as Record<string, unknown>,
          ...(e.id ? { id: e.id } : {}),
        },
        ...(opts.waits ? { waits: opts.waits({ fn: fn.id(), event: e }) ?? [] } : {}),
      });
      const step = res.ctx.step as unknown as Record<string, { mock?: { calls: unknown[] } }>;
      const steps = Object.values(step).reduce((n, spy) => n + (spy?.mock?.calls.length ?? 0), 0);
      const taskId = (e.data as { taskId?: unknown } | undefined)?.taskId;
      runs.push({
        fn: fn.id(),
        event: e.name,
        eventId: e.id,
        taskId: typeof taskId === "string" ? taskId : undefined,
        steps,
        result: res.result,
        error: suspendedAt(res.error) ? undefined : res.error,
        suspended: suspendedAt(res.error),
      });
    }
  }
  return runs;
}
