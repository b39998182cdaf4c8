// `npm run knowledge:load`: upserts the briefs and SOPs in this folder (every *.md) into the configured
// database (DATABASE_URL, else the embedded PGlite dir), keyed by path, and prints what it added,
// updated or left unchanged. Running it again changes nothing. Migrations are applied first, as
// `npm start` does. An embedded data dir has one owner: while `npm start` holds it, stop it first.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../../lib/config.ts";
import { isDomainError } from "../../lib/errors.ts";
import { type KnowledgeFile, type LoadReport, loadKnowledge } from "../../lib/knowledge/load.ts";
import { openDb } from "../client.ts";
import { migrateDb } from "../migrate.ts";
import type { AppDb } from "../types.ts";

/** This folder, and the prefix its files' paths are stored under. */
export const KNOWLEDGE_DIR = fileURLToPath(new URL(".", import.meta.url));
export const KNOWLEDGE_FOLDER = "db/knowledge";

/** The *.md files of `dir`, sorted by name, with paths `<folder>/<name>`. */
export async function readKnowledgeDir(
  dir = KNOWLEDGE_DIR,
  folder = KNOWLEDGE_FOLDER,
): Promise<KnowledgeFile[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".md")).sort();
  return Promise.all(
    names.map(async (n) => ({ path: `${folder}/${n}`, source: await readFile(join(dir, n), "utf8") })),
  );
}

/** Reads the folder and upserts it: the core of the script, also run in-process by the tests. */
export async function loadKnowledgeDir(db: AppDb, dir = KNOWLEDGE_DIR, folder = KNOWLEDGE_FOLDER) {
  return loadKnowledge(db, await readKnowledgeDir(dir, folder), { folder });
}

export function formatReport(report: LoadReport): string {
  const lines: string[] = [];
  for (const [label, list] of [
    ["added", report.added],
    ["updated", report.updated],
    ["unchanged", report.unchanged],
  ] as const) {
    for (const e of list) lines.push(`  ${label.padEnd(9)} ${e.path}  (${e.id}) ${e.title}`);
  }
  for (const e of report.orphaned) {
    lines.push(`  no file   ${e.path}  (${e.id}) — kept; DELETE /api/knowledge/${e.id} removes it`);
  }
  lines.push(
    `knowledge: ${report.added.length} added, ${report.updated.length} updated, ${report.unchanged.length} unchanged`,
  );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const config = loadConfig(process.env, "node");
  let handle: Awaited<ReturnType<typeof openDb>>;
  try {
    handle = await openDb({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.FOREMAN_DATA_DIR,
      neonWsProxy: config.NEON_WS_PROXY,
    });
  } catch (err) {
    if (isDomainError(err) && err.details?.owner !== undefined) {
      console.error(
        `knowledge:load: ${err.message}\n` +
          "  An embedded database has one owner at a time. If `npm start` is running on this data dir, stop it\n" +
          "  (Ctrl-C), run `npm run knowledge:load`, and start it again.",
      );
      return 1;
    }
    throw err;
  }
  try {
    await migrateDb(handle);
    const where = handle.kind === "pglite" ? `embedded PGlite in ${config.FOREMAN_DATA_DIR}/` : handle.kind;
    console.log(`loading ${KNOWLEDGE_FOLDER}/*.md into ${where}`);
    console.log(formatReport(await loadKnowledgeDir(handle.db)));
    return 0;
  } finally {
    await handle.close();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (err) {
    console.error(`knowledge:load: ${isDomainError(err) ? err.message : err}`);
    process.exitCode = 1;
  }
}
