// The request Inngest's executor sends to run a function: `POST <serve path>?fnId=<app>-<fn>&stepId=step`
// with the SDKRequest body of inngest/inngest `pkg/execution/driver` (event, events, steps, ctx,
// version, use_api). With `ctx.fn_id` and `ctx.qi_id` present and immediate execution allowed — what
// the executor sends on a run's first request — inngest-js 4.x runs the steps in this one request and
// checkpoints each to `POST <api>/v1/checkpoint/<run_id>/async`; `disableImmediateExecution` (the
// executor's own flag) turns that off, and the SDK reports the next step instead of running it.
import { randomBytes, randomUUID } from "node:crypto";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** A ULID-shaped id (timestamp + randomness), as the executor uses for runs, events and requests. */
export function ulid(now = Date.now()): string {
  let time = "";
  for (let t = now, i = 0; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const rand = [...randomBytes(16)].map((b) => CROCKFORD[b % 32]).join("");
  return time + rand;
}

export interface ExecutorCall {
  /** The app-prefixed function id the executor knows the function by, e.g. `foreman-promote`. */
  fnId: string;
  event: { name: string; data: unknown; id?: string; ts?: number };
  runId?: string;
  /** Memoized step state by hashed step id, as the executor replays it. */
  steps?: Record<string, { type: "data"; data: unknown } | { type: "error"; error: unknown }>;
  attempt?: number;
  maxAttempts?: number;
  disableImmediateExecution?: boolean;
}

export interface ExecutorRequest {
  /** Path and query, to append to the serve URL's origin. */
  path: string;
  init: RequestInit & { headers: Record<string, string>; body: string };
  runId: string;
  /** The executor's internal (UUID) function id, echoed in checkpoints. */
  internalFnId: string;
  queueItemId: string;
  requestId: string;
}

export function executorRequest(call: ExecutorCall, servePath = "/api/inngest"): ExecutorRequest {
  const runId = call.runId ?? ulid();
  const internalFnId = randomUUID();
  const queueItemId = `qi_${ulid()}`;
  const requestId = ulid();
  const event = { id: ulid(), ts: Date.now(), ...call.event };
  const stepIds = Object.keys(call.steps ?? {});
  const body = {
    event,
    events: [event],
    steps: call.steps ?? {},
    defers: {},
    ctx: {
      fn_id: internalFnId,
      run_id: runId,
      env: "dev",
      step_id: "step",
      attempt: call.attempt ?? 0,
      max_attempts: call.maxAttempts ?? 5,
      stack: { stack: stepIds, current: Math.max(0, stepIds.length - 1) },
      qi_id: queueItemId,
      request_id: requestId,
      job_id: queueItemId,
      disable_immediate_execution: call.disableImmediateExecution ?? false,
      use_api: false,
    },
    // -1: the executor lets the SDK pick its execution version (a run's first request).
    version: -1,
    use_api: false,
  };
  const query = new URLSearchParams({ fnId: call.fnId, stepId: "step" });
  return {
    path: `${servePath}?${query}`,
    init: {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-inngest-server-kind": "dev",
        "x-request-id": requestId,
        "x-inngest-generation-id": "0",
      },
      body: JSON.stringify(body),
    },
    runId,
    internalFnId,
    queueItemId,
    requestId,
  };
}

/** The executor's call of `fn`'s onFailure: `inngest/function.failed` for one of its runs, out of retries. */
export const failureRequest = (
  fn: string,
  failed: { runId: string; error: unknown; event: unknown; ts?: number },
) =>
  executorRequest({
    fnId: `foreman-${fn}-failure`,
    event: {
      name: "inngest/function.failed",
      data: { function_id: `foreman-${fn}`, run_id: failed.runId, error: failed.error, event: failed.event },
      ...(failed.ts === undefined ? {} : { ts: failed.ts }),
    },
  });
