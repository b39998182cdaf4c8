// The function edge, as two client-wide v4 middlewares (registered in client.ts):
// - DepsMiddleware hands the request's Deps to every handler as `deps`. The Hono app puts Deps on its
//   context (built once on Node, per request on Workers) and the Hono serve adapter passes that context
//   as the first request argument; tests inject `deps` through @inngest/test's transformCtx instead. A
//   run that ends up with no deps fails at once, naming the function, instead of crashing later.
// - ErrorMiddleware maps what step bodies and handlers throw through toInngestError (errors.ts).
import { Middleware, NonRetriableError } from "inngest";
import type { Deps } from "../lib/deps.ts";
import { toInngestError } from "./errors.ts";

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

  // Once per request, on the final ctx: after every middleware's transformFunctionInput and a test's
  // transformCtx, so deps injected by any of them count. A NonRetriableError fails the run at once.
  override async wrapFunctionHandler({ ctx, fn, next }: Middleware.WrapFunctionHandlerArgs) {
    if (!(ctx as { deps?: Deps }).deps) {
      throw new NonRetriableError(
        `Inngest function "${fn.id(this.client.id)}" ran without deps: serve it from the Hono app (which sets ` +
          `c.var.deps) or inject deps in tests.`,
      );
    }
    return next();
  }
}

export class ErrorMiddleware extends Middleware.BaseMiddleware {
  readonly id = "foreman-errors";

  /** Each step.run / step.sendEvent attempt: its error decides what Inngest does with this step. */
  override async wrapStepHandler({ next }: Middleware.WrapStepHandlerArgs) {
    try {
      return await next();
    } catch (err) {
      throw toInngestError(err);
    }
  }

  /** The handler itself: an error thrown outside any step decides what happens to the run. */
  override async wrapFunctionHandler({ next }: Middleware.WrapFunctionHandlerArgs) {
    try {
      return await next();
    } catch (err) {
      throw toInngestError(err);
    }
  }
}
