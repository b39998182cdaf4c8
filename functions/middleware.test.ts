// DepsMiddleware: the Deps the Hono app put on the request context reach the function's ctx, and a
// ctx without a request (the test engine) keeps what the caller injected.
import { describe, expect, it } from "vitest";
import type { Deps } from "../lib/deps.ts";
import { inngest } from "./client.ts";
import { DepsMiddleware } from "./middleware.ts";

const deps = { version: "test" } as unknown as Deps;
type Args = Parameters<DepsMiddleware["transformFunctionInput"]>[0];
type ReqArgs = Parameters<DepsMiddleware["wrapRequest"]>[0];
const input = (ctx: Record<string, unknown>) => ({ ctx, fn: {}, steps: {} }) as unknown as Args;

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
});
