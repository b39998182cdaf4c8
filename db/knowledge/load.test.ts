// The knowledge loader: the day-1 briefs load, a second run changes nothing, a changed file is
// updated in place, a vanished one reported, an invalid folder refused whole; and `npm run
// knowledge:load` as a process, on a fresh embedded data dir, on PostgreSQL, and refused while
// another process (`npm start`) owns the data dir.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { count, eq, sql } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { isDomainError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { loadKnowledge } from "../../lib/knowledge/load.ts";
import { searchKnowledge } from "../../lib/knowledge/search.ts";
import { createTestDb, onPostgres, useTestDb } from "../../test/db.ts";
import { killAll, startNode } from "../../test/process.ts";
import { openPglite } from "../client.ts";
import { lockDataDir } from "../pglite-lock.ts";
import { knowledge } from "../schema/index.ts";
import { loadKnowledgeDir, readKnowledgeDir } from "./load.ts";

const t = useTestDb();
const dirs: string[] = [];
afterAll(() => {
  killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DAY_ONE = [
  "db/knowledge/activation-checklist.md",
  "db/knowledge/marketing-hub-setup.md",
  "db/knowledge/service-hub-configuration.md",
];

const loadedRows = async (db = t.current.db) =>
  db
    .select({ id: knowledge.id, path: knowledge.sourcePath, updatedAt: knowledge.updatedAt })
    .from(knowledge)
    .where(sql`${knowledge.sourcePath} like 'db/knowledge/%'`)
    .orderBy(knowledge.sourcePath);

const file = (path: string, title: string, body: string, extra = "") => ({
  path,
  source: `---\ntitle: ${title}\nkind: sop\ntags: [test]\n${extra}---\n${body}\n`,
});

describe("loadKnowledge", () => {
  it("loads the day-1 briefs; a second run changes nothing and makes no duplicates", async () => {
    const files = await readKnowledgeDir();
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(DAY_ONE));
    const first = await loadKnowledgeDir(t.current.db);
    expect(first.added.map((e) => e.path)).toEqual(files.map((f) => f.path));
    expect(first.updated).toEqual([]);
    const before = await loadedRows();
    expect(before).toHaveLength(files.length);

    const second = await loadKnowledgeDir(t.current.db);
    expect(second).toMatchObject({ added: [], updated: [], orphaned: [] });
    expect(second.unchanged.map((e) => [e.path, e.id])).toEqual(before.map((r) => [r.path, r.id]));
    expect(await loadedRows()).toEqual(before);
  });

  it("makes the day-1 briefs searchable, each first for its own subject", async () => {
    await loadKnowledgeDir(t.current.db);
    const first = async (q: string) => (await searchKnowledge(t.current.db, { q }))[0];
    expect(await first("service hub ticket pipeline")).toMatchObject({
      title: "Service Hub configuration",
      kind: "brief",
      sourcePath: "db/knowledge/service-hub-configuration.md",
    });
    expect((await first("marketing hub setup"))?.title).toBe("Marketing Hub setup");
    expect((await first("activation checklist"))?.title).toBe("CRM activation checklist");
    expect((await first("dkim dmarc"))?.title).toBe("Connect and authenticate the email sending domain");
    expect((await first("task_id last_event_id"))?.title).toBe(
      "Ticket pipeline conventions for foreman tasks",
    );
  });

  it("updates a changed file in place and reports a vanished one without deleting it", async () => {
    const folder = `test/${newId("kn")}`;
    const a = file(`${folder}/a.md`, "A", "first version");
    const b = file(`${folder}/b.md`, "B", "b");
    const loaded = await loadKnowledge(t.current.db, [a, b], { folder });
    const idA = loaded.added.find((e) => e.path === a.path)?.id;
    const [before] = await t.current.db.select().from(knowledge).where(eq(knowledge.sourcePath, a.path));

    const changed = file(a.path, "A", "second version");
    const report = await loadKnowledge(t.current.db, [changed], { folder });
    expect(report.updated).toEqual([{ path: a.path, id: idA, title: "A" }]);
    expect(report.orphaned.map((e) => e.path)).toEqual([b.path]);
    const [after] = await t.current.db.select().from(knowledge).where(eq(knowledge.sourcePath, a.path));
    expect(after?.body).toBe("second version\n");
    expect(after?.updatedAt.getTime()).toBeGreaterThan(before?.updatedAt.getTime() ?? Infinity);
    expect(await t.current.db.select().from(knowledge).where(eq(knowledge.sourcePath, b.path))).toHaveLength(
      1,
    );
  });

  it("refuses a folder with any invalid file, listing every problem, and writes nothing", async () => {
    const folder = `test/${newId("kn")}`;
    const total = async () => (await t.current.db.select({ n: count() }).from(knowledge))[0]?.n ?? 0;
    const before = await total();
    const err = await loadKnowledge(t.current.db, [
      file(`${folder}/good.md`, "Good", "fine"),
      { path: `${folder}/no-kind.md`, source: "---\ntitle: x\n---\nbody\n" },
      file(`${folder}/long.md`, "t".repeat(201), "b"),
      file(`${folder}/extra.md`, "x", "b", "owner: me\n"),
      { path: `${folder}/plain.md`, source: "# no front matter\n" },
    ]).catch((e: unknown) => e);
    expect(isDomainError(err) && err.code).toBe("VALIDATION");
    const message = (err as Error).message;
    expect(message).toContain(`${folder}/no-kind.md: kind:`);
    expect(message).toContain(`${folder}/long.md: title:`);
    expect(message).toContain(`${folder}/extra.md: front matter.owner:`);
    expect(message).toContain(`${folder}/plain.md:1: must start with a front matter block`);
    expect(message).not.toContain("good.md");
    expect(await total()).toBe(before);
  });

  it("refuses a file naming an unknown project", async () => {
    const folder = `test/${newId("kn")}`;
    await expect(
      loadKnowledge(t.current.db, [file(`${folder}/p.md`, "P", "b", "project: proj_missing\n")]),
    ).rejects.toMatchObject({ code: "VALIDATION", message: "Project 'proj_missing' does not exist." });
  });
});

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ["DATABASE_URL", "TEST_DATABASE_URL", "FOREMAN_API_TOKEN", "NEON_WS_PROXY"]) {
    if (!(k in extra)) delete env[k];
  }
  return env;
}

async function runLoader(env: NodeJS.ProcessEnv) {
  const p = startNode(["db/knowledge/load.ts"], { env, ready: /knowledge: \d+ added/ });
  p.ready.catch(() => {}); // the script exits when done; only the exit code and output matter
  return { code: await p.exited, output: p.output() };
}

describe("npm run knowledge:load (the script)", () => {
  it("loads into a fresh embedded data dir, and a second run leaves everything unchanged", async () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-knowledge-"));
    dirs.push(dir);
    const files = await readKnowledgeDir();
    const env = cleanEnv({ FOREMAN_DATA_DIR: dir });

    const first = await runLoader(env);
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`embedded PGlite in ${dir}/`);
    expect(first.output).toMatch(/added\s+db\/knowledge\/service-hub-configuration\.md\s+\(kn_/);
    expect(first.output).toContain(`knowledge: ${files.length} added, 0 updated, 0 unchanged`);

    const second = await runLoader(env);
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain(`knowledge: 0 added, 0 updated, ${files.length} unchanged`);

    const handle = await openPglite(dir);
    try {
      expect(await loadedRows(handle.db)).toHaveLength(files.length);
    } finally {
      await handle.close();
    }
  }, 90_000);

  it("says clearly that another process owns the data dir, and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-knowledge-locked-"));
    dirs.push(dir);
    const release = lockDataDir(dir); // what a running `npm start` holds
    try {
      const run = await runLoader(cleanEnv({ FOREMAN_DATA_DIR: dir }));
      expect(run.code).toBe(1);
      expect(run.output).toContain(`already in use by process ${process.pid}`);
      expect(run.output).toContain("If `npm start` is running on this data dir, stop it");
    } finally {
      release();
    }
  }, 60_000);

  it.runIf(onPostgres)(
    "loads into PostgreSQL through DATABASE_URL",
    async () => {
      const pg = await createTestDb();
      try {
        const run = await runLoader(cleanEnv({ DATABASE_URL: pg.url as string }));
        expect(run.code, run.output).toBe(0);
        expect(run.output).toContain("into postgres");
        expect(await loadedRows(pg.db)).toHaveLength((await readKnowledgeDir()).length);
      } finally {
        await pg.close();
      }
    },
    60_000,
  );
});
