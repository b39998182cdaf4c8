// `npm run setup:hubspot [-- --dry-run]`: creates what foreman needs in the HubSpot portal (setup.ts)
// and stores the id mapping in the database's `settings` (key hubspot.setup), then prints it.
// `--dry-run` reads the portal, prints the plan and writes nothing anywhere: no HubSpot write, and the
// database is not opened (so existing objects are matched by label only).
import { parseArgs } from "node:util";
import { openDb } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { loadConfig } from "../config.ts";
import { isDomainError } from "../errors.ts";
import { createHubSpotClient } from "./client.ts";
import { describeAction, setupHubSpot } from "./setup.ts";
import { loadSetupMapping, storeSetupMapping } from "./setup-mapping.ts";

const fail = (message: string): never => {
  console.error(message);
  process.exit(1);
};
const messageOf = (err: unknown) => (isDomainError(err) || err instanceof Error ? err.message : String(err));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
  const dryRun = values["dry-run"] === true;
  let config: ReturnType<typeof loadConfig> | undefined;
  try {
    config = loadConfig(process.env, "node");
  } catch (err) {
    fail(messageOf(err));
  }
  if (!config) return;
  if (!config.HUBSPOT_ACCESS_TOKEN) {
    fail(
      "HUBSPOT_ACCESS_TOKEN is not set: put a HubSpot private-app token (tickets + schema scopes) in .env.",
    );
  }
  const client = createHubSpotClient({
    accessToken: config.HUBSPOT_ACCESS_TOKEN as string,
    baseUrl: config.HUBSPOT_BASE_URL,
  });

  if (dryRun) {
    const { plan } = await setupHubSpot(client, { dryRun: true }).catch((err) => fail(messageOf(err)));
    console.log(`HubSpot setup plan (dry run, nothing written) against ${config.HUBSPOT_BASE_URL}:`);
    if (plan.actions.length === 0) console.log("  nothing to create: the portal is set up");
    for (const a of plan.actions) console.log(`  + ${describeAction(a)}`);
    for (const p of plan.problems) console.log(`  ! ${p}`);
    console.log(
      `  existing pipeline: ${plan.pipelineId ?? "none"}; existing stages: ${JSON.stringify(plan.stageIds)}`,
    );
    return;
  }

  const handle = await openDb({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.FOREMAN_DATA_DIR,
    neonWsProxy: config.NEON_WS_PROXY,
  }).catch((err: unknown) => fail(messageOf(err)));
  try {
    await migrateDb(handle);
    const previous = await loadSetupMapping(handle.db);
    const { plan, mapping } = await setupHubSpot(client, { dryRun: false, previous });
    if (plan.actions.length === 0) console.log("HubSpot is already set up: nothing created.");
    for (const a of plan.actions) console.log(`created: ${describeAction(a)}`);
    if (!mapping) throw new Error("HubSpot setup returned no mapping");
    await storeSetupMapping(handle.db, mapping);
    console.log("stored in settings (hubspot.setup):");
    console.log(JSON.stringify(mapping, null, 2));
  } catch (err) {
    console.error(messageOf(err));
    process.exitCode = 1;
  } finally {
    await handle.close();
  }
}

await main();
