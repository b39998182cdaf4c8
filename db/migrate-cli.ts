// `npm run db:migrate`: apply migrations to the configured database (DATABASE_URL, else the embedded
// PGlite dir) and exit. Deploys to Workers run this from Node, since migrations read files.
import { loadConfig } from "../lib/config.ts";
import { openDb } from "./client.ts";
import { migrateDb } from "./migrate.ts";

const config = loadConfig(process.env, "node");
const handle = await openDb({
  databaseUrl: config.DATABASE_URL,
  dataDir: config.FOREMAN_DATA_DIR,
  neonWsProxy: config.NEON_WS_PROXY,
});
try {
  const started = Date.now();
  await migrateDb(handle);
  console.log(`migrations applied to ${handle.kind} in ${Date.now() - started} ms`);
} finally {
  await handle.close();
}
