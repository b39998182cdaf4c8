// The layering the linter enforces (biome.json, noRestrictedImports patterns): api/ and functions/
// never import drizzle-orm or db/schema by any path, and only the entry points (api/server.ts,
// api/worker.ts, api/dev.ts) import db/client, db/neon or db/migrate. Runs the real Biome binary with
// the repo's own biome.json over fixture files in a temporary copy of the layout, so what is checked
// is the configuration as written, not a restatement of it.
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIOME = join(ROOT, "node_modules/.bin/biome");
const RULE = "lint/style/noRestrictedImports";

const use = (spec: string) => `import * as m from "${spec}";\n\nexport const used = m;\n`;

// path → the imports it holds and whether the rule must refuse it.
const FIXTURES: Record<string, { source: string; refused: boolean }> = {
  "api/routes/schema-file.ts": { source: use("../../db/schema/tasks.ts"), refused: true },
  "api/routes/schema-barrel.ts": { source: use("../../db/schema/index.ts"), refused: true },
  "api/routes/schema-dir.ts": { source: use("../../db/schema"), refused: true },
  "api/routes/schema-winding.ts": { source: use("../routes/../../db/schema/tasks.ts"), refused: true },
  "api/routes/drizzle.ts": { source: use("drizzle-orm"), refused: true },
  "api/routes/pg-core.ts": { source: use("drizzle-orm/pg-core"), refused: true },
  "api/routes/client.ts": { source: use("../../db/client.ts"), refused: true },
  "api/routes/neon.ts": { source: use("../../db/neon.ts"), refused: true },
  "api/migrate-user.ts": { source: use("../db/migrate.ts"), refused: true },
  "api/type-only.ts": {
    source: 'import type { TaskRow } from "../db/schema/tasks.ts";\n\nexport type Row = TaskRow;\n',
    refused: true,
  },
  "api/dynamic.ts": { source: 'export const m = await import("../db/schema/index.ts");\n', refused: true },
  "api/reexport.ts": { source: 'export * from "../db/schema/index.ts";\n', refused: true },
  "functions/schema.ts": { source: use("../db/schema/tasks.ts"), refused: true },
  "functions/client-db.ts": { source: use("../db/client.ts"), refused: true },
  "functions/nested/sql.ts": { source: use("drizzle-orm/sql"), refused: true },
  // Entry points may open and migrate the database, but not reach past lib into the schema.
  "api/server.ts": {
    source: `${use("../db/client.ts")}import { migrateDb } from "../db/migrate.ts";\n\nexport const m2 = migrateDb;\n`,
    refused: false,
  },
  "api/worker.ts": { source: use("../db/neon.ts"), refused: false },
  "api/dev.ts": { source: use("../db/schema/index.ts"), refused: true },
  // Clean: lib verbs, the db handle's type, the Inngest client (functions/client.ts is not db/client).
  "api/routes/clean.ts": {
    source: [
      'import type { AppDb } from "../../db/types.ts";',
      'import { inngest } from "../../functions/client.ts";',
      'import { listTasks } from "../../lib/tasks/read.ts";',
      "",
      "export const used: [typeof listTasks, typeof inngest, AppDb | null] = [listTasks, inngest, null];",
      "",
    ].join("\n"),
    refused: false,
  },
  // lib/ and db/ own queries and the schema; tests may import anything.
  "lib/tasks/fixture.ts": {
    source: `${use("../../db/schema/tasks.ts")}import { eq } from "drizzle-orm";\n\nexport const e = eq;\n`,
    refused: false,
  },
  "lib/client-user.ts": { source: use("../db/client.ts"), refused: false },
  "db/fixture.ts": { source: use("drizzle-orm/pg-core"), refused: false },
  "api/routes/fixture.test.ts": { source: use("../../db/schema/index.ts"), refused: false },
};

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "foreman-layering-"));
  copyFileSync(join(ROOT, "biome.json"), join(dir, "biome.json"));
  // biome.json loads the GritQL plugins in lint/ (durable-function rules); without them it fails to load.
  cpSync(join(ROOT, "lint"), join(dir, "lint"), { recursive: true });
  for (const [path, { source }] of Object.entries(FIXTURES)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Diagnostic {
  rule: string;
  file: string;
  message: string;
}

function biomeLint(cwd: string, args: string[]) {
  const run = spawnSync(BIOME, ["lint", "--reporter=github", "--colors=off", ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (run.error) throw run.error;
  const diagnostics: Diagnostic[] = [];
  for (const line of run.stdout.split("\n")) {
    const m = /^::(?:error|warning|notice) title=([^,]+),file=([^,]+),[^:]*::(.*)$/.exec(line);
    if (m)
      diagnostics.push({
        rule: m[1] as string,
        file: relative(cwd, m[2] as string),
        message: m[3] as string,
      });
  }
  return { status: run.status, diagnostics, output: `${run.stdout}${run.stderr}` };
}

describe("layering (Biome noRestrictedImports, the real binary and biome.json)", () => {
  it("refuses exactly the imports that cross the layers, and nothing else", () => {
    const { status, diagnostics, output } = biomeLint(dir, ["."]);
    expect(status, output).toBe(1);
    const refused = [...new Set(diagnostics.filter((d) => d.rule === RULE).map((d) => d.file))].sort();
    const expected = Object.entries(FIXTURES)
      .filter(([, f]) => f.refused)
      .map(([path]) => path)
      .sort();
    expect(refused, output).toEqual(expected);
    expect(
      diagnostics.filter((d) => d.rule !== RULE),
      output,
    ).toEqual([]);
  });

  it("says why, per kind of import", () => {
    const { diagnostics } = biomeLint(dir, [
      "api/routes/pg-core.ts",
      "api/routes/schema-dir.ts",
      "api/routes/client.ts",
    ]);
    const byFile = Object.fromEntries(diagnostics.map((d) => [d.file, d.message]));
    expect(byFile["api/routes/pg-core.ts"]).toMatch(/drizzle-orm/);
    expect(byFile["api/routes/schema-dir.ts"]).toMatch(/touch the schema/);
    expect(byFile["api/routes/client.ts"]).toMatch(/entry points/);
  });

  it("passes a clean api/ file and the same bad imports under lib/, db/ and tests (exit code 0)", () => {
    const clean = Object.entries(FIXTURES)
      .filter(([, f]) => !f.refused)
      .map(([path]) => path);
    const { status, diagnostics, output } = biomeLint(dir, clean);
    expect(diagnostics, output).toEqual([]);
    expect(status, output).toBe(0);
  });

  it("holds for the repository's own api/ and functions/", () => {
    // Other rules' findings are not this test's business; `--only` would also re-enable the rule in
    // the test files that switch it off.
    const { diagnostics, output } = biomeLint(ROOT, ["api", "functions"]);
    expect(
      diagnostics.filter((d) => d.rule === RULE),
      output,
    ).toEqual([]);
  });
});
