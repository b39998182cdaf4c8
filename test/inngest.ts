// The @inngest/test helper (see ../shared/notes/inngest-v4.md §6 for the traps it works around):
// a fresh engine per call (mock results are memoised per engine), Deps injected through transformCtx
// (middleware does not run in the engine), waits answered by replacing ctx.step.waitForEvent (mocking
// them through `steps` is broken, inngest-js#1652), and every sendEvent mocked unless the test says
// otherwise (an un-mocked one calls the real Inngest API).
import { InngestTestEngine, mockCtx } from "@inngest/test";
import { vi } from "vitest";
import type { Deps } from "../lib/deps.ts";

type Fn = ConstructorParameters<typeof InngestTestEngine>[0]["function"];
type StepMock = { id: string; handler: () => unknown };
export type WaitHandler = (id: string, opts: { timeout: unknown; if?: string }) => unknown;

export interface RunOptions {
  event: { name: string; data: Record<string, unknown>; id?: string };
  /** A batch (batchEvents functions): the run's events, `event` being the first. */
  events?: RunOptions["event"][];
  deps: Deps;
  /** Mocked step results by step id (sendEvent, sleeps and invokes must be mocked). */
  steps?: StepMock[];
  /**
   * Results for successive waitForEvent calls (null = timed out), in order. A function is called in
   * the wait's place — what happens while the run waits (a click, a link approval) — and its result
   * is the wait's.
   */
  waits?: (unknown | WaitHandler)[];
  /** The run id the handler sees (a retry of the same run keeps it). */
  runId?: string;
  /** The zero-based attempt the handler sees (the engine's retry counter). */
  attempt?: number;
  /**
   * Step ids whose `await step.run` rejects as the engine's does once a step is out of retries (a
   * StepError with the step's message), so a function's catch-and-go-on path can be tested.
   */
  failSteps?: Record<string, string>;
  /**
   * Kept across attempts of one run, as the engine keeps a run's state: every step that completes
   * is remembered and replayed to later attempts instead of running again, and the error the
   * failing step threw (before serialization) is left in `thrown` for the retry decision.
   */
  attempts?: AttemptState;
}

export interface AttemptState {
  memo: Map<string, unknown>;
  thrown?: unknown;
}

/**
 * What an unmocked wait does: the run stops there, as a real run is suspended until its event or
 * timeout. The run's result then carries this error; `suspendedAt` reads the wait's id from it.
 */
export class SuspendedAtWait extends Error {
  readonly waitId: string;
  constructor(waitId: string) {
    super(`suspended at wait ${waitId}`);
    this.waitId = waitId;
    this.name = "SuspendedAtWait";
  }
}

const SUSPENDED = /^suspended at wait (.+)$/;
/** The wait a run stopped at, when it stopped at one (the engine may re-wrap the error). */
export const suspendedAt = (error: unknown): string | undefined => {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" ? SUSPENDED.exec(message)?.[1] : undefined;
};

/** Wraps a step tool so its completed results land in `state.memo` (still a spy: steps are counted). */
function remembering<T extends (id: string, body: (...a: never[]) => unknown, ...rest: never[]) => unknown>(
  tool: T,
  state: AttemptState,
): T {
  return vi.fn((id: string, body: (...a: never[]) => unknown, ...rest: never[]) =>
    tool(
      id,
      async (...a: never[]) => {
        try {
          const value = await body(...a);
          state.memo.set(id, value);
          return value;
        } catch (err) {
          state.thrown = err;
          throw err;
        }
      },
      ...rest,
    ),
  ) as unknown as T;
}

export function runFunction(fn: Fn, opts: RunOptions) {
  const waits = [...(opts.waits ?? [])];
  const attempts = opts.attempts;
  const memoised = attempts ? [...attempts.memo].map(([id, value]) => ({ id, handler: () => value })) : [];
  // The engine re-executes the handler once per step; a wait answers each re-execution the same.
  const answered = new Map<string, Promise<unknown>>();
  const engine = new InngestTestEngine({
    function: fn,
    events: (opts.events ?? [opts.event]) as never,
    transformCtx: (raw) => {
      const ctx = mockCtx(raw) as typeof raw & { deps: Deps };
      ctx.deps = opts.deps;
      if (opts.runId) (ctx as { runId: string }).runId = opts.runId;
      if (opts.attempt !== undefined) (ctx as { attempt: number }).attempt = opts.attempt;
      ctx.step.waitForEvent = vi.fn(async (id: string, o: { timeout: unknown; if?: string }) => {
        const memo = answered.get(id);
        if (memo) return memo;
        if (waits.length === 0) throw new SuspendedAtWait(id);
        const next = waits.shift();
        const answer = Promise.resolve(typeof next === "function" ? (next as WaitHandler)(id, o) : next);
        answered.set(id, answer);
        return answer;
      }) as unknown as typeof ctx.step.waitForEvent;
      const failing = opts.failSteps;
      if (failing) {
        const run = ctx.step.run.bind(ctx.step);
        ctx.step.run = vi.fn((id: string, ...rest: never[]) => {
          const message = failing[id];
          if (message === undefined) return (run as (...a: unknown[]) => unknown)(id, ...rest);
          return Promise.reject(Object.assign(new Error(message), { name: "StepError", stepId: id }));
        }) as unknown as typeof ctx.step.run;
      }
      if (attempts) {
        ctx.step.run = remembering(ctx.step.run.bind(ctx.step), attempts);
        ctx.step.ai.wrap = remembering(ctx.step.ai.wrap.bind(ctx.step.ai), attempts);
      }
      return ctx;
    },
  });
  return engine.execute({ steps: [...(opts.steps ?? []), ...memoised] });
}
