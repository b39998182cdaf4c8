// The Cloudflare Workers entry point. Configuration is parsed from the bindings (cached per isolate,
// since bindings do not change within one); the Neon pool is opened per request and closed after
// the response, because a pool does not survive between Worker requests. The Cron Trigger
// (`scheduled`, every minute in wrangler.toml) drains the outbox, independent of the Inngest engine.
import type { Context } from "hono";
import { openNeon } from "../db/neon.ts";
import { inngestSender } from "../functions/client.ts";
import { type Config, loadConfig } from "../lib/config.ts";
import { createDeps } from "../lib/deps.ts";
import { drainOutbox } from "../lib/outbox/drain.ts";
import { createApp } from "./app.ts";
import type { AppEnv } from "./env.ts";
import { VERSION } from "./version.ts";

interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}

const configs = new WeakMap<object, Config>();
function configFor(env: Record<string, unknown>): Config {
  let config = configs.get(env);
  if (!config) {
    config = loadConfig(env, "worker");
    configs.set(env, config);
  }
  return config;
}

function depsFor(env: Record<string, unknown>) {
  const config = configFor(env);
  const handle = openNeon({ url: config.DATABASE_URL as string, wsProxy: config.NEON_WS_PROXY, max: 5 });
  const deps = createDeps({
    config,
    db: handle.db,
    dbKind: handle.kind,
    events: inngestSender(config),
    version: VERSION,
  });
  return { deps, dispose: () => handle.close() };
}

const app = createApp({
  resolveDeps: (c) => depsFor((c.env ?? {}) as Record<string, unknown>),
  afterResponse: (c: Context<AppEnv>, work) => c.executionCtx.waitUntil(work),
});

async function drain(env: Record<string, unknown>): Promise<void> {
  const { deps, dispose } = depsFor(env);
  try {
    const res = await drainOutbox(deps, { retentionDays: deps.config.FOREMAN_OUTBOX_RETENTION_DAYS });
    if (res.sent > 0 || res.error !== undefined) {
      deps.logger.info("outbox: drained", { sent: res.sent, failed: res.failed, error: res.error });
    }
  } catch (err) {
    // A cron invocation has no caller to tell: log the driver's own error, not only drizzle's wrapper.
    const cause = (err as { cause?: unknown }).cause;
    deps.logger.error("outbox: drain failed", {
      error: String(err),
      cause: cause ? String(cause) : undefined,
    });
    throw err;
  } finally {
    await dispose();
  }
}

export default {
  fetch: (request: Request, env: Record<string, unknown>, ctx: ExecutionContextLike) =>
    app.fetch(request, env, ctx as Parameters<typeof app.fetch>[2]),
  scheduled: (_controller: unknown, env: Record<string, unknown>, ctx: ExecutionContextLike) => {
    ctx.waitUntil(drain(env));
  },
};
