// The one Hono app, runtime-neutral. Entry points (api/server.ts on Node, api/worker.ts on Workers)
// supply `resolveDeps`, which runs first on every request and may return a disposer for per-request
// resources (the Worker's database pool).

import type { Context, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import type { Deps } from "../lib/deps.ts";
import { publishSettled } from "../lib/outbox/publish.ts";
import { bearerAuth } from "./auth.ts";
import type { AppEnv } from "./env.ts";
import { errorResponse, onError } from "./errors.ts";
import { adminRoutes } from "./routes/admin.ts";
import { boardRoutes } from "./routes/board.ts";
import { healthRoutes } from "./routes/health.ts";
import { hubspotWebhookRoutes } from "./routes/hubspot.ts";
import { inngestRoutes } from "./routes/inngest.ts";
import { knowledgeRoutes } from "./routes/knowledge.ts";
import { plansRoutes } from "./routes/plans.ts";
import { slackRoutes } from "./routes/slack.ts";
import { stampPageRoutes } from "./routes/stamp-page.ts";
import { stampRoutes } from "./routes/stamps.ts";
import { taskCommandRoutes } from "./routes/task-commands.ts";
import { tasksRoutes } from "./routes/tasks.ts";

export interface ResolvedDeps {
  deps: Deps;
  dispose?: () => Promise<void>;
}

export interface AppOptions {
  resolveDeps: (c: Context<AppEnv>) => ResolvedDeps | Promise<ResolvedDeps>;
  /** Registers work that must finish after the response (Workers: ctx.waitUntil). */
  afterResponse?: (c: Context<AppEnv>, work: Promise<unknown>) => void;
}

export function createApp(opts: AppOptions) {
  const app = new Hono<AppEnv>();
  app.onError(onError);
  app.notFound((c) => errorResponse(c, 404, "NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`));
  app.use("*", requestId());
  app.use("*", async (c, next) => {
    const { deps, dispose } = await opts.resolveDeps(c);
    c.set("deps", deps);
    c.set("background", []);
    try {
      await next();
    } finally {
      if (dispose) {
        // After the work the route left running past its answer (a slow Slack update, a send the
        // drain would otherwise redo): closing the request's pool first would fail all of it.
        const done = Promise.allSettled(c.get("background"))
          // …and after the background "sent" marks, which the pool's end would fail (a harmless
          // re-send by the drain, but one for every event of the request).
          .then(() => publishSettled(deps))
          .then(() => dispose())
          .catch((err) => deps.logger.warn("dispose failed", { error: String(err) }));
        if (opts.afterResponse) opts.afterResponse(c, done);
        else await done;
      }
    }
  });
  // "/api/tasks/*" also matches "/api/tasks" itself.
  app.use("/api/tasks/*", bearerAuth());
  app.use("/api/knowledge/*", bearerAuth());
  app.use("/api/plans/*", bearerAuth());
  app.use("/api/admin/*", bearerAuth());
  // The limit comes from config, which arrives with the request; the limiter is built once per value.
  const limiters = new Map<number, MiddlewareHandler<AppEnv>>();
  const limiterFor = (maxSize: number) => {
    let limiter = limiters.get(maxSize);
    if (!limiter) {
      limiter = bodyLimit({
        maxSize,
        onError: (c) =>
          errorResponse(
            c as Context<AppEnv>,
            413,
            "LIMIT_EXCEEDED",
            `The body exceeds the limit of ${maxSize} bytes.`,
            {
              field: "body",
              details: { limit: maxSize },
            },
          ),
      }) as MiddlewareHandler<AppEnv>;
      limiters.set(maxSize, limiter);
    }
    return limiter;
  };
  // Every surface that reads a body reads it within the limit. Webhooks and Slack are authenticated by
  // their signatures, checked in the route over the raw body the limiter let through.
  for (const path of [
    "/api/tasks/*",
    "/api/knowledge/*",
    "/api/plans/*",
    "/api/admin/*",
    "/webhooks/hubspot/*",
    "/stamp/*",
    "/slack/*",
  ]) {
    app.use(path, (c, next) => limiterFor(c.get("deps").config.FOREMAN_MAX_BODY_BYTES)(c, next));
  }

  app.route("/health", healthRoutes);
  app.route("/api/inngest", inngestRoutes());
  app.route("/api/tasks", tasksRoutes);
  app.route("/api/tasks", stampRoutes);
  app.route("/api/tasks", taskCommandRoutes);
  app.route("/api/admin", adminRoutes);
  app.route("/stamp", stampPageRoutes);
  app.route("/slack", slackRoutes);
  app.route("/webhooks/hubspot", hubspotWebhookRoutes);
  app.route("/api/knowledge", knowledgeRoutes);
  app.route("/api/plans", plansRoutes);
  app.route("/board", boardRoutes);
  return app;
}

export type App = ReturnType<typeof createApp>;
