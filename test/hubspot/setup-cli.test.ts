// `npm run setup:hubspot` as a person runs it: the script as a child process against the HubSpot fake,
// with embedded PGlite in a temporary FOREMAN_DATA_DIR (or, under TEST_DATABASE_URL, the test's
// PostgreSQL database as DATABASE_URL). --dry-run prints the nine-stage plan and writes
// nothing (no HubSpot write, no data dir); a real run creates everything, stores the mapping in
// settings and prints it; a second run writes nothing; no token is a one-line error.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite } from "../../db/client.ts";
import { loadSetupMapping } from "../../lib/hubspot/setup-mapping.ts";
import { TASK_STATES } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { killAll, startNode } from "../process.ts";

const SCRIPT = join(import.meta.dirname, "../../lib/hubspot/setup-cli.ts");
const dir = mkdtempSync(join(tmpdir(), "foreman-setup-hubspot-"));
const dataDir = join(dir, "data");
const testDb = useTestDb();
let fake: FakeHubSpot;

beforeAll(async () => {
  fake = await startFakeHubSpot();
});
afterAll(async () => {
  killAll();
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    FOREMAN_DATA_DIR: dataDir,
    HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
    HUBSPOT_BASE_URL: fake.url,
  };
  for (const k of ["DATABASE_URL", "NEON_WS_PROXY", "TEST_DATABASE_URL"]) delete e[k];
  const url = testDb.current.url;
  if (url) e.DATABASE_URL = url;
  return { ...e, ...extra };
}

async function run(args: string[], extra?: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  const child = startNode([SCRIPT, ...args], { env: env(extra), ready: /(?!)/, cwd: dir });
  child.ready.catch(() => {});
  const code = await child.exited;
  return { code, out: child.output() };
}

describe("npm run setup:hubspot", () => {
  it("is registered in package.json", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8"));
    expect(pkg.scripts["setup:hubspot"]).toBe("node --env-file-if-exists=.env lib/hubspot/setup-cli.ts");
  });

  it("--dry-run prints the nine-stage plan and writes nothing anywhere", async () => {
    fake.reset();
    const { code, out } = await run(["--dry-run"]);
    expect(code, out).toBe(0);
    expect(out).toContain('create ticket pipeline "foreman tasks" with 9 stages:');
    const stageLines = out.split("\n").filter((l) => /^\s+\d\. /.test(l));
    expect(stageLines.map((l) => l.trim())).toEqual([
      "1. Intake (open)",
      "2. Ready (open)",
      "3. Working (open)",
      "4. Awaiting internal review (open)",
      "5. Awaiting client review (open)",
      "6. Done (closed)",
      "7. Blocked (external) (open)",
      "8. Failed, needs triage (open)",
      "9. Cancelled (closed)",
    ]);
    expect(out).toContain("create ticket property task_id (string, unique) in group foreman");
    expect(fake.writeCalls()).toEqual([]);
    expect(fake.calls.length).toBeGreaterThan(0);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("creates everything, stores and prints the mapping; the second run writes nothing", async () => {
    fake.reset();
    const first = await run([]);
    expect(first.code, first.out).toBe(0);
    const pipeline = fake.pipelines.get("tickets")?.find((p) => p.label === "foreman tasks");
    expect(pipeline?.stages).toHaveLength(9);
    expect(fake.writeCalls()).toHaveLength(7); // group, pipeline (with its stages), five properties
    expect(first.out).toContain("stored in settings (hubspot.setup):");
    expect(first.out).toContain(`"pipelineId": "${pipeline?.id}"`);

    fake.reset();
    const second = await run([]);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain("HubSpot is already set up: nothing created.");
    expect(fake.writeCalls()).toEqual([]);

    const handle = testDb.current.url ? undefined : await openPglite(dataDir);
    try {
      const mapping = await loadSetupMapping(handle?.db ?? testDb.current.db);
      expect(mapping?.pipelineId).toBe(pipeline?.id);
      expect(Object.keys(mapping?.stageIds ?? {})).toEqual([...TASK_STATES]);
      expect(mapping?.stageIds.done).toBe(pipeline?.stages.find((s) => s.label === "Done")?.id);
      expect(mapping?.properties).toEqual([
        "task_id",
        "task_url",
        "last_event_id",
        "revision_count",
        "worker",
      ]);
    } finally {
      await handle?.close();
    }
  }, 120_000);

  it("without HUBSPOT_ACCESS_TOKEN: one clear line and exit 1", async () => {
    const { code, out } = await run(["--dry-run"], { HUBSPOT_ACCESS_TOKEN: "" });
    expect(code).toBe(1);
    expect(out.trim().split("\n")).toEqual([expect.stringMatching(/^HUBSPOT_ACCESS_TOKEN is not set/)]);
  });

  it("a refused token is reported in one line, not a stack trace", async () => {
    const { code, out } = await run(["--dry-run"], { HUBSPOT_ACCESS_TOKEN: "pat-wrong" });
    expect(code).toBe(1);
    expect(out.trim().split("\n")).toEqual([
      expect.stringContaining("HubSpot refused the credentials (401)"),
    ]);
  });
});
