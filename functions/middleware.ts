// Hands the request's Deps to every function handler as `deps`. The Hono app puts Deps on its context
// (built once on Node, per request on Workers), and the Hono serve adapter passes that context as the
// first request argument. Tests inject `deps` through @inngest/test's transformCtx instead.
import { Middleware } from "inngest";
import type { Deps } from "../lib/deps.ts";

type WithDeps = { get(key: "deps"): Deps | undefined };

export class DepsMiddleware extends Middleware.BaseMiddleware {
  readonly id = "foreman-deps";
  private deps: Deps | undefined;

  // A fresh middleware instance serves each request, so keeping the request's deps on `this` is safe.
  override async wrapRequest({ next, requestArgs }: Middleware.WrapRequestArgs) {
    const c = requestArgs[0] as WithDeps | undefined;
    this.deps = typeof c?.get === "function" ? c.get("deps") : undefined;
    return next();
  }

  override transformFunctionInput(arg: Middleware.TransformFunctionInputArgs) {
    if (!this.deps) return arg as typeof arg & { ctx: { deps: Deps } };
    return { ...arg, ctx: { ...arg.ctx, deps: this.deps } };
  }
}
