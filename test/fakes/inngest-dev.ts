// A small Inngest dev server for tests that run foreman as a deployment (a real `node api/server.ts`
// with INNGEST_DEV and INNGEST_BASE_URL pointed here): it learns the app's functions from the SDK's
// own sync (PUT the serve URL → POST /fn/register), takes events on POST /e/:key (deduplicated by id),
// starts the functions whose triggers match, and drives each run over HTTP the way the executor does
// (test/executor.ts): steps run and checkpoint to /v1/checkpoint/:run/async, their results are
// replayed on the next request; StepError is retried (max attempts from the function's retries),
// StepFailed hands the step its error, a failed run emits inngest/function.failed for its onFailure
// function; WaitForEvent parks the run until a matching event (or its timeout); cancelOn cancels a
// run in any live state, a running one included: the step in flight finishes, but its checkpoint is
// answered 409 (the SDK's stale-dispatch signal, on which it halts the run) and no further request is
// made, so the run stops at its next step; each cancelled run emits inngest/function.cancelled.
// What it does not model: concurrency, throttle, debounce, batching, priorities and idempotency keys
// — runs execute one at a time, in arrival order, which satisfies every limit trivially — crons
// (fire one with `tick`), sleeps (refused as unsupported), and real backoff (retries wait `retryDelayMs`).
import { randomUUID } from "node:crypto";
import { ulid } from "../executor.ts";
import { evaluate } from "./inngest-expr.ts";
import { type FakeServer, startFake } from "./server.ts";

interface Trigger {
  event?: string;
  expression?: string;
  cron?: string;
}
interface RegisteredFn {
  id: string;
  url: string;
  triggers: Trigger[];
  attempts: number;
  cancel: { event: string; if?: string }[];
  internalId: string;
}
export interface EngineEvent {
  name: string;
  data: Record<string, unknown>;
  id: string;
  ts: number;
}
type StepState = { type: "data"; data: unknown } | { type: "error"; error: unknown };
type Op = {
  op: string;
  id: string;
  name?: string;
  data?: unknown;
  error?: unknown;
  opts?: Record<string, unknown>;
};

export interface EngineRun {
  runId: string;
  fn: string;
  event: EngineEvent;
  status: "queued" | "running" | "waiting" | "completed" | "failed" | "cancelled";
  attempt: number;
  /** Every request made for this run (the first, each resume, each retry). */
  requests: number;
  result?: unknown;
  error?: unknown;
  wait?: { id: string; event: string; if?: string; timer?: ReturnType<typeof setTimeout> };
  steps: Record<string, StepState>;
  order: string[];
  version: number;
}

export interface InngestDev extends FakeServer {
  /** Syncs the app at `serveUrl` (the SDK registers its functions here). */
  register(serveUrl: string): Promise<string[]>;
  readonly runs: EngineRun[];
  readonly events: EngineEvent[];
  /** Protocol answers the engine could not handle (an unsupported op, a malformed response). */
  readonly problems: string[];
  /** Starts a cron-triggered function now, as its schedule would. */
  tick(fnId: string): void;
  /** Resolves when no run is queued or executing (waiting runs may remain). */
  settled(): Promise<void>;
}

// A function, not an inline comparison: the status changes across awaits (a cancel arrives mid-request).
const isCancelled = (run: EngineRun) => run.status === "cancelled";

const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** A wait's timeout as the SDK sends it: an ISO date, or a duration like "1h30m" / "90s". */
function msUntil(timeout: string): number {
  const at = Date.parse(timeout);
  if (Number.isFinite(at)) return at - Date.now();
  const parts = [...timeout.matchAll(/(\d+(?:\.\d+)?)([wdhms])/g)];
  if (parts.length === 0) return Number.NaN;
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * (UNIT_MS[unit as string] ?? 0), 0);
}

export async function startInngestDev(opts: { retryDelayMs?: number } = {}): Promise<InngestDev> {
  const fns = new Map<string, RegisteredFn>();
  const runs: EngineRun[] = [];
  const events: EngineEvent[] = [];
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue: EngineRun[] = [];
  const idle: (() => void)[] = [];
  let busy = false;
  let pendingTimers = 0;
  let closed = false;

  const wake = () => {
    if (!busy && queue.length === 0 && pendingTimers === 0) for (const r of idle.splice(0)) r();
  };
  const later = (ms: number, fn: () => void) => {
    pendingTimers++;
    setTimeout(() => {
      pendingTimers--;
      if (!closed) fn();
      wake();
    }, ms).unref();
  };
  const enqueue = (run: EngineRun) => {
    // A run cancelled while it ran, or while it waited out a retry delay, is never resumed.
    if (isCancelled(run)) return;
    run.status = "queued";
    queue.push(run);
    void pump();
  };

  const start = (fn: RegisteredFn, event: EngineEvent) => {
    const run: EngineRun = {
      runId: ulid(),
      fn: fn.id,
      event,
      status: "queued",
      attempt: 0,
      requests: 0,
      steps: {},
      order: [],
      version: -1,
    };
    runs.push(run);
    enqueue(run);
  };

  const settle = (run: EngineRun, stepId: string, state: StepState) => {
    if (!(stepId in run.steps)) run.order.push(stepId);
    run.steps[stepId] = state;
  };

  const fail = (run: EngineRun, error: unknown) => {
    run.status = "failed";
    run.error = error;
    const fn = fns.get(run.fn);
    if (!fn) return;
    accept({
      name: "inngest/function.failed",
      data: { function_id: fn.id, run_id: run.runId, error, event: run.event },
    });
  };

  const cancel = (run: EngineRun, by: EngineEvent) => {
    run.status = "cancelled";
    if (run.wait?.timer) clearTimeout(run.wait.timer);
    run.wait = undefined;
    const fn = fns.get(run.fn);
    accept({
      name: "inngest/function.cancelled",
      data: { function_id: fn?.id ?? run.fn, run_id: run.runId, event: run.event, cancelled_by: by.name },
    });
  };

  /** One request to the serve endpoint for a run, and what its answer means. */
  async function execute(run: EngineRun): Promise<void> {
    const fn = fns.get(run.fn) as RegisteredFn;
    run.status = "running";
    run.requests++;
    const body = {
      event: run.event,
      events: [run.event],
      steps: run.steps,
      defers: {},
      ctx: {
        fn_id: fn.internalId,
        run_id: run.runId,
        env: "dev",
        step_id: "step",
        attempt: run.attempt,
        max_attempts: fn.attempts,
        stack: { stack: run.order, current: Math.max(0, run.order.length - 1) },
        qi_id: `qi_${run.runId}`,
        request_id: ulid(),
        job_id: `qi_${run.runId}`,
        disable_immediate_execution: false,
        use_api: false,
      },
      version: run.version,
      use_api: false,
    };
    let res: Response;
    try {
      res = await fetch(fn.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inngest-server-kind": "dev" },
        body: JSON.stringify(body),
      });
    } catch (err) {
      return retryOrFail(run, fn, { name: "Error", message: `serve endpoint unreachable: ${err}` }, true);
    }
    const version = Number(res.headers.get("x-inngest-req-version"));
    if (Number.isFinite(version) && version >= 0) run.version = version;
    const text = await res.text();
    const parsed = (() => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    })();
    // Cancelled mid-request: the step that finished is kept; nothing after it runs.
    if (isCancelled(run)) return;
    const retriable = res.headers.get("x-inngest-no-retry") !== "true";
    if (res.status === 200) {
      run.status = "completed";
      run.result = parsed;
      return;
    }
    if (res.status !== 206) return retryOrFail(run, fn, parsed, retriable);
    const ops = (Array.isArray(parsed) ? parsed : []) as Op[];
    for (const op of ops.filter((o) => o.op === "StepRun"))
      settle(run, op.id, { type: "data", data: op.data });
    const rest = ops.filter((o) => o.op !== "StepRun");
    if (rest.length === 0) return enqueue(run);
    const [op] = rest;
    if (rest.length > 1 || !op) {
      problems.push(`${run.fn}: ${rest.length} ops at once (${rest.map((o) => o.op)})`);
      return fail(run, { name: "Error", message: "parallel ops are not supported by the test engine" });
    }
    switch (op.op) {
      case "RunComplete":
        run.status = "completed";
        run.result = op.data;
        return;
      case "StepError":
        return retryOrFail(run, fn, op.error, retriable, op.id, res.headers.get("retry-after"));
      case "StepFailed":
        settle(run, op.id, { type: "error", error: op.error });
        run.attempt = 0;
        return enqueue(run);
      case "WaitForEvent": {
        // The SDK puts the awaited event's name in `name`, the match and timeout in `opts`.
        const o = (op.opts ?? {}) as { timeout?: string; if?: string };
        run.status = "waiting";
        run.wait = { id: op.id, event: op.name ?? "", ...(o.if ? { if: o.if } : {}) };
        const ms = o.timeout ? msUntil(o.timeout) : Number.NaN;
        // Timeouts beyond a test's life are not armed (setTimeout cannot hold them anyway).
        if (ms < 60 * 60_000) run.wait.timer = setTimeout(() => resume(run, null), Math.max(0, ms)).unref();
        return;
      }
      default:
        problems.push(`${run.fn}: unsupported op ${op.op}`);
        return fail(run, { name: "Error", message: `the test engine does not support ${op.op}` });
    }
  }

  function retryOrFail(
    run: EngineRun,
    fn: RegisteredFn,
    error: unknown,
    retriable: boolean,
    stepId?: string,
    retryAfter?: string | null,
  ) {
    if (retriable && run.attempt + 1 < fn.attempts) {
      run.attempt++;
      run.status = "queued";
      const asked = Number(retryAfter) * 1000;
      // Real backoff is minutes; a test waits a token delay (or a short Retry-After) instead.
      later(Math.min(Number.isFinite(asked) ? asked : 0, 50) + (opts.retryDelayMs ?? 10), () => enqueue(run));
      return;
    }
    if (stepId) {
      settle(run, stepId, { type: "error", error });
      run.attempt = 0;
      return enqueue(run);
    }
    fail(run, error);
  }

  function resume(run: EngineRun, event: EngineEvent | null) {
    const wait = run.wait;
    if (!wait || run.status !== "waiting") return;
    if (wait.timer) clearTimeout(wait.timer);
    run.wait = undefined;
    settle(run, wait.id, { type: "data", data: event });
    enqueue(run);
  }

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    try {
      for (let run = queue.shift(); run; run = queue.shift()) {
        if (run.status !== "queued" || closed) continue;
        await execute(run).catch((err: unknown) => {
          problems.push(`${run?.fn}: ${err}`);
          if (run) fail(run, { name: "Error", message: String(err) });
        });
      }
    } finally {
      busy = false;
      wake();
    }
  }

  function accept(input: { name: string; data?: Record<string, unknown>; id?: string; ts?: number }): string {
    const e: EngineEvent = {
      name: input.name,
      data: input.data ?? {},
      id: input.id ?? ulid(),
      ts: input.ts ?? Date.now(),
    };
    if (seen.has(e.id)) return e.id;
    seen.add(e.id);
    events.push(e);
    const cancelled: EngineRun[] = [];
    for (const run of runs) {
      if (run.status === "waiting" && run.wait?.event === e.name) {
        if (!run.wait.if || evaluate(run.wait.if, { event: run.event, async: e })) resume(run, e);
      }
      const cancels = fns.get(run.fn)?.cancel ?? [];
      const live = run.status === "waiting" || run.status === "queued" || run.status === "running";
      if (
        live &&
        cancels.some((c) => c.event === e.name && (!c.if || evaluate(c.if, { event: run.event, async: e })))
      ) {
        cancelled.push(run);
      }
    }
    for (const run of cancelled) cancel(run, e);
    for (const fn of fns.values()) {
      const hit = fn.triggers.some(
        (t) => t.event === e.name && (!t.expression || evaluate(t.expression, { event: e })),
      );
      if (hit) start(fn, e);
    }
    return e.id;
  }

  const fake = await startFake((app) => {
    app.post("/fn/register", async (c) => {
      const body = (await c.req.json()) as {
        functions: {
          id: string;
          triggers: Trigger[];
          steps: Record<string, { runtime: { url: string }; retries?: { attempts?: number } }>;
          cancel?: { event: string; if?: string }[];
        }[];
      };
      for (const f of body.functions) {
        const step = Object.values(f.steps)[0];
        if (!step) continue;
        fns.set(f.id, {
          id: f.id,
          url: step.runtime.url,
          triggers: f.triggers,
          // `retries` counts re-tries; Inngest's default is 3 when a function sets none.
          attempts: (step.retries?.attempts ?? 3) + 1,
          cancel: f.cancel ?? [],
          internalId: fns.get(f.id)?.internalId ?? randomUUID(),
        });
      }
      return c.json({ ok: true, modified: true }, 200);
    });
    app.post("/e/:key", async (c) => {
      const body = (await c.req.json()) as unknown;
      const list = (Array.isArray(body) ? body : [body]) as Parameters<typeof accept>[0][];
      return c.json({ ids: list.map(accept), status: 200 });
    });
    app.post("/v1/checkpoint/:runId/async", async (c) => {
      const run = runs.find((r) => r.runId === c.req.param("runId"));
      const body = (await c.req.json()) as { steps?: Op[] };
      for (const s of body.steps ?? []) {
        if (run && s.op === "StepRun") settle(run, s.id, { type: "data", data: s.data });
      }
      // The step is kept; a cancelled run goes no further (the SDK halts on a 409).
      if (run && isCancelled(run)) return c.json({ error: "run is no longer executing" }, 409);
      return c.body(null, 200);
    });
    // Anything else the SDK reports (scores, traces) is accepted and recorded in `calls`.
    app.all("*", (c) => c.json({}, 200));
  });

  const closeServer = fake.close;
  return Object.assign(fake, {
    runs,
    events,
    problems,
    async register(serveUrl: string) {
      const res = await fetch(serveUrl, { method: "PUT" });
      if (!res.ok) throw new Error(`sync of ${serveUrl} failed: ${res.status} ${await res.text()}`);
      return [...fns.keys()];
    },
    tick(fnId: string) {
      const fn = fns.get(fnId);
      if (!fn?.triggers.some((t) => t.cron)) throw new Error(`${fnId} has no cron trigger`);
      start(fn, { name: "inngest/scheduled.timer", data: { cron: "tick" }, id: ulid(), ts: Date.now() });
    },
    settled: () =>
      new Promise<void>((resolve) => {
        idle.push(resolve);
        wake();
      }),
    async close() {
      closed = true;
      for (const r of runs) if (r.wait?.timer) clearTimeout(r.wait.timer);
      await closeServer();
    },
  });
}
