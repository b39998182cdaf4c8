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

export interface RunOptions {
  event: { name: string; data: Record<string, unknown>; id?: string };
  deps: Deps;
  /** Mocked step results by step id (sendEvent, sleeps and invokes must be mocked). */
  steps?: StepMock[];
  /** Results for successive waitForEvent calls (null = timed out), in order. */
  waits?: unknown[];
  /** The run id the handler sees (a retry of the same run keeps it). */
  runId?: string;
}

export function runFunction(fn: Fn, opts: RunOptions) {
  const waits = [...(opts.waits ?? [])];
  const engine = new InngestTestEngine({
    function: fn,
    events: [opts.event] as never,
    transformCtx: (raw) => {
      const ctx = mockCtx(raw) as typeof raw & { deps: Deps };
      ctx.deps = opts.deps;
      if (opts.runId) (ctx as { runId: string }).runId = opts.runId;
      if (opts.waits) {
        ctx.step.waitForEvent = vi.fn(async () => {
          if (waits.length === 0) throw new Error("runFunction: more waitForEvent calls than mocked waits");
          return waits.shift();
        }) as unknown as typeof ctx.step.waitForEvent;
      }
      return ctx;
    },
  });
  return engine.execute({ steps: opts.steps ?? [] });
}
