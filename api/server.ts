// The Node entry point (`npm start`): embedded PGlite unless DATABASE_URL is set, migrations on start,
// dry-run on, Inngest dev mode unless configured, a generated API token kept in the data dir. Prints
// where everything is; Ctrl-C closes the database cleanly.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { openDb } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { inngestSender } from "../functions/client.ts";
import { type Config, isDevMode, loadConfig } from "../lib/config.ts";
import { createDeps } from "../lib/deps.ts";
import { isDomainError } from "../lib/errors.ts";
import { startDrainLoop } from "../lib/outbox/loop.ts";
import { nodePost } from "../lib/outbox/node-post.ts";
import { deferSentMarks, publishSettled } from "../lib/outbox/publish.ts";
import { createApp } from "./app.ts";
import { VERSION } from "./version.ts";

/** The API token: FOREMAN_API_TOKEN when set, else one generated once and kept in the data dir. */
function apiToken(config: Config): { token: string; generated: boolean; path?: string } {
  if (config.FOREMAN_API_TOKEN) return { token: config.FOREMAN_API_TOKEN, generated: false };
  const path = join(config.FOREMAN_DATA_DIR, "api-token");
  if (existsSync(path)) return { token: readFileSync(path, "utf8").trim(), generated: true, path };
  mkdirSync(config.FOREMAN_DATA_DIR, { recursive: true });
  const token = `fm_${randomBytes(24).toString("base64url")}`;
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return { token, generated: true, path };
}

/**
 * The banner's token lines. A generated token (embedded npm start, kept in the data dir) is shown so a
 * new user can try the API; a configured one is the deployment's credential and never reaches the logs.
 */
export function tokenLines(
  token: { token: string; generated: boolean; path?: string },
  base: string,
): string[] {
  if (!token.generated) {
    return [
      "  api token:   FOREMAN_API_TOKEN (configured; not printed)",
      `  try:         curl -H "Authorization: Bearer $FOREMAN_API_TOKEN" ${base}/api/tasks`,
    ];
  }
  return [
    `  api token:   ${token.token}${token.path ? `  (generated, stored in ${token.path})` : ""}`,
    `  try:         curl -H "Authorization: Bearer ${token.token}" ${base}/api/tasks`,
  ];
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // `npm start` is the embedded, safe default: Inngest dev mode unless the environment says otherwise.
  if (env.INNGEST_DEV === undefined && !env.INNGEST_SIGNING_KEY) env.INNGEST_DEV = "1";
  let config: Config;
  try {
    config = loadConfig(env, "node");
  } catch (err) {
    console.error(isDomainError(err) ? err.message : err);
    process.exit(1);
  }
  const token = apiToken(config);
  config = { ...config, FOREMAN_API_TOKEN: token.token };

  const started = Date.now();
  const handle = await openDb({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.FOREMAN_DATA_DIR,
    neonWsProxy: config.NEON_WS_PROXY,
  }).catch((err: unknown) => {
    console.error(isDomainError(err) ? err.message : err);
    process.exit(1);
  });
  await migrateDb(handle);

  const deps = createDeps({
    config,
    db: handle.db,
    dbKind: handle.kind,
    events: inngestSender(config, { post: nodePost }),
    version: VERSION,
  });
  // This process lives: "sent" marks are written together every 100 ms (lib/outbox/publish.ts).
  deferSentMarks(deps, 100);
  const app = createApp({ resolveDeps: () => ({ deps }) });
  const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", reject);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    console.error(
      code === "EADDRINUSE"
        ? `Port ${config.PORT} on ${config.HOST} is already in use: stop the other process or set PORT.`
        : `Could not listen on ${config.HOST}:${config.PORT}: ${(err as Error).message}`,
    );
    await handle.close();
    process.exit(1);
  }

  // Events owed to the engine are re-sent from here, so they arrive even while no engine runs crons.
  const drain = startDrainLoop(deps, {
    intervalMs: config.FOREMAN_OUTBOX_DRAIN_SECONDS * 1000,
    retentionDays: config.FOREMAN_OUTBOX_RETENTION_DAYS,
  });
  void drain.kick();

  const base = `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${config.PORT}`;
  const where = handle.kind === "pglite" ? `embedded PGlite in ${config.FOREMAN_DATA_DIR}/` : handle.kind;
  console.log(
    [
      `foreman ${VERSION} ready in ${Date.now() - started} ms (database: ${where}; dry-run ${config.FOREMAN_DRY_RUN ? "ON" : "off"})`,
      `  app:         ${base}`,
      `  health:      ${base}/health`,
      `  inngest:     ${base}/api/inngest (${isDevMode(config) ? "dev mode" : "cloud mode"})`,
      ...tokenLines(token, base),
      `  dev server:  npx inngest-cli dev -u ${base}/api/inngest`,
    ].join("\n"),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.logger.info("shutting down", { signal });
    server.close();
    if ("closeAllConnections" in server) server.closeAllConnections();
    await drain.stop();
    await publishSettled(deps);
    await handle.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

if (import.meta.main) await main();
