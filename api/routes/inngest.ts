// /api/inngest: the Inngest serve endpoint (GET introspect, PUT sync, POST run) for every function.
import { Hono } from "hono";
import { serve } from "inngest/hono";
import { inngest } from "../../functions/client.ts";
import { functions } from "../../functions/index.ts";
import type { AppEnv } from "../env.ts";

type Handler = ReturnType<typeof serve>;

export function inngestRoutes() {
  // serve() fixes its registration URL from the client's environment when it is constructed, so it
  // is built on the first request — after the entry point has applied the parsed configuration —
  // rather than at import time, when INNGEST_DEV / INNGEST_BASE_URL may not be known yet.
  let handler: Handler | undefined;
  return new Hono<AppEnv>().on(["GET", "PUT", "POST"], "/", (c) => {
    handler ??= serve({ client: inngest, functions });
    return handler(c);
  });
}
