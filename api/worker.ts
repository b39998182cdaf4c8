// The Cloudflare Workers entry point. Configuration is parsed from the bindings (cached per isolate,
// since bindings do not change within one); the Neon pool is opened per request and closed after
// the response, because a pool does not survive between Worker requests.
import type { Context } from "hono";
import { openNeon } from "../db/neon.ts";
import { inngestSender } from "../functions/client.ts";
import { type Config, loadConfig } from "../lib/config.ts";
import { createDeps } from "../lib/deps.ts";
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

const app = createApp({
  resolveDeps: (c) => {
    const config = configFor((c.env ?? {}) as Record<string, unknown>);
    const handle = openNeon({ url: config.DATABASE_URL as string, wsProxy: config.NEON_WS_PROXY, max: 5 });
    return {
      deps: createDeps({
        config,
        db: handle.db,
        dbKind: handle.kind,
        events: inngestSender(config),
        version: VERSION,
      }),
      dispose: () => handle.close(),
    };
  },
  afterResponse: (c: Context<AppEnv>, work) => c.executionCtx.waitUntil(work),
});

export default {
  fetch: (request: Request, env: Record<string, unknown>, ctx: ExecutionContextLike) =>
    app.fetch(request, env, ctx as Parameters<typeof app.fetch>[2]),
};
