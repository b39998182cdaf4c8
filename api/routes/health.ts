// GET /health: is the database reachable, and which version, runtime, database and modes are live.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { isDevMode } from "../../lib/config.ts";
import type { AppEnv } from "../env.ts";

export const healthRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const deps = c.get("deps");
  let db: "ok" | "down" = "ok";
  let dbError: string | undefined;
  try {
    await deps.db.execute(sql`select 1`);
  } catch (err) {
    db = "down";
    dbError = (err as Error).message;
    deps.logger.error("health: database unreachable", { error: dbError });
  }
  const body = {
    status: db === "ok" ? "ok" : "degraded",
    version: deps.version,
    database: { driver: deps.dbKind, status: db },
    inngest: isDevMode(deps.config) ? "dev" : "cloud",
    dry_run: deps.config.FOREMAN_DRY_RUN,
  };
  return c.json(body, db === "ok" ? 200 : 503);
});
