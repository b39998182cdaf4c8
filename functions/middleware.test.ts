// The function-edge middlewares. DepsMiddleware: the Deps the Hono app put on the request context
// reach the function's ctx, a ctx without a request (the test engine) keeps what the caller injected,
// and a run with no deps at all fails at once, naming the function. ErrorMiddleware: what step bodies
// and handlers throw goes through toInngestError. (test/functions/serve-post.test.ts drives both
// through the serve handler, as Inngest's executor does.)
import { InngestTestEngine } from "@inngest/test";
import { NonRetriableError, RetryAfterError } from "inngest";
import { describe, expect, it } from "vitest";
import type { Deps } from "../lib/deps.ts";
import { DomainError } from "../lib/errors.ts";
import { runFunction } from "../test/inngest.ts";
import { inngest } from "./client.ts";
import { DepsMiddleware, ErrorMiddleware } from "./middleware.ts";

const deps = { version: "test" } as unknown as Deps;
type Args = Parameters<DepsMiddleware["transformFunctionInput"]>[0];
type ReqArgs = Parameters<DepsMiddleware["wrapRequest"]>[0];
type HandlerArgs = Parameters<DepsMiddleware["wrapFunctionHandler"]>[0];
type StepArgs = Parameters<ErrorMiddleware["wrapStepHandler"]>[0];
const input = (ctx: Record<string, unknown>) => ({ ctx, fn: {}, steps: {} }) as unknown as Args;
const fn = { id: (prefix?: string) => [prefix, "some-fn"].filter(Boolean).join("-") };
const handlerArgs = (ctx: Record<string, unknown>, next: () => Promise<unknown>) =>
  ({ ctx, fn, next }) as unknown as HandlerArgs;
const stepArgs = (next: () => Promise<unknown>) =>
  ({ ctx: {}, fn, next, stepInfo: {} }) as unknown as StepArgs;

// Test-only functions on the production client, so its middleware runs in the engine.
const failing = inngest.createFunction(
  { id: "test-mw-failing", retries: 3, triggers: [{ event: "test/mw.fail" }] },
  async ({ step }) => {
    await step.run("explode", () => {
      throw new DomainError("VALIDATION", "title is required");
    });
  },
);
const needsDeps = inngest.createFunction(
  { id: "test-mw-needs-deps", retries: 3, triggers: [{ event: "test/mw.deps" }] },
  async ({ deps }) => deps.version,
);

describe("DepsMiddleware", () => {
  it("hands the request context's deps to the handler ctx", async () => {
    const mw = new DepsMiddleware({ client: inngest });
    const honoContext = { get: (key: string) => (key === "deps" ? deps : undefined) };
    let nextCalled = false;
    await mw.wrapRequest({
      requestArgs: [honoContext],
      next: async () => {
        nextCalled = true;
        return { body: "", headers: {}, status: 200 };
      },
    } as unknown as ReqArgs);
    expect(nextCalled).toBe(true);
    const out = mw.transformFunctionInput(input({ runId: "r1" }));
    expect(out.ctx).toMatchObject({ runId: "r1", deps });
  });

  it("leaves ctx alone when no request carried deps", () => {
    const mw = new DepsMiddleware({ client: inngest });
    const injected = { deps };
    expect(mw.transformFunctionInput(input(injected)).ctx).toBe(injected);
  });

  it("runs the handler when ctx has deps", async () => {
    const mw = new DepsMiddleware({ client: inngest });
    await expect(mw.wrapFunctionHandler(handlerArgs({ deps }, async () => "ran"))).resolves.toBe("ran");
  });

  it("fails a run without deps with a NonRetriableError naming the function, before the handler", async () => {
    const mw = new DepsMiddleware({ client: inngest });
    let ran = false;
    const run = mw.wrapFunctionHandler(
      handlerArgs({}, async () => {
        ran = true;
      }),
    );
    await expect(run).rejects.toBeInstanceOf(NonRetriableError);
    await expect(run).rejects.toThrow('Inngest function "foreman-some-fn" ran without deps');
    expect(ran).toBe(false);
  });

  it("does so in the test engine too when nothing injects deps", async () => {
    const res = await new InngestTestEngine({
      function: needsDeps,
      events: [{ name: "test/mw.deps", data: {} }] as never,
    }).execute();
    expect(res.error).toMatchObject({
      name: "NonRetriableError",
      message: expect.stringContaining('"foreman-test-mw-needs-deps" ran without deps'),
    });
    const injected = await runFunction(needsDeps, { deps, event: { name: "test/mw.deps", data: {} } });
    expect(injected.result).toBe("test");
  });
});

describe("ErrorMiddleware", () => {
  const mw = new ErrorMiddleware({ client: inngest });

  it("passes a step's result through", async () => {
    await expect(mw.wrapStepHandler(stepArgs(async () => 42))).resolves.toBe(42);
  });

  it("maps a step's DomainError: non-retryable → NonRetriableError, a delay → RetryAfterError", async () => {
    const fail = (err: Error) => mw.wrapStepHandler(stepArgs(() => Promise.reject(err)));
    await expect(fail(new DomainError("UNAUTHORIZED", "bad token"))).rejects.toBeInstanceOf(
      NonRetriableError,
    );
    await expect(
      fail(new DomainError("RATE_LIMITED", "slow down", { retryAfterMs: 2000 })),
    ).rejects.toMatchObject({ name: "RetryAfterError", retryAfter: "2" });
    const plain = new Error("boom");
    await expect(fail(plain)).rejects.toBe(plain);
  });

  it("maps what the handler itself throws", async () => {
    const run = mw.wrapFunctionHandler(
      handlerArgs({ deps }, () =>
        Promise.reject(new DomainError("UNAVAILABLE", "queue full", { retryAfterMs: 3000 })),
      ),
    );
    await expect(run).rejects.toBeInstanceOf(RetryAfterError);
  });

  it("is on the client: a step's VALIDATION error fails the run in the test engine as NonRetriableError", async () => {
    const res = await runFunction(failing, { deps, event: { name: "test/mw.fail", data: {} } });
    expect(res.error).toMatchObject({ name: "NonRetriableError", message: "title is required" });
  });
});
