// GET /health: is the database reachable, and which version, runtime, database and modes are live,
// and how far behind the outbox is (depth, oldest unsent age, rows that outlived the dedup window).
import { Hono } from "hono";
import { isDevMode } from "../../lib/config.ts";
import { pingDb } from "../../lib/health.ts";
import { outboxStatus } from "../../lib/outbox/drain.ts";
import type { AppEnv } from "../env.ts";

export const healthRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const deps = c.get("deps");
  const ping = await pingDb(deps.db);
  if (!ping.ok) deps.logger.error("health: database unreachable", { error: ping.error });
  const db = ping.ok ? "ok" : "down";
  const outbox = ping.ok ? await outboxStatus(deps).catch(() => null) : null;
  const body = {
    status: db === "ok" ? "ok" : "degraded",
    version: deps.version,
    database: { driver: deps.dbKind, status: db },
    inngest: isDevMode(deps.config) ? "dev" : "cloud",
    dry_run: deps.config.FOREMAN_DRY_RUN,
    local_model: deps.local ? { via: "bridge", model: deps.local.model } : null,
    outbox: outbox && {
      pending: outbox.pending,
      oldest_pending_seconds: outbox.oldestPendingSeconds,
      abandoned: outbox.abandoned,
    },
  };
  return c.json(body, db === "ok" ? 200 : 503);
});
