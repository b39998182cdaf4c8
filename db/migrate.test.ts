// Migrations apply to an empty database (PGlite, or Postgres with TEST_DATABASE_URL), seed the day-1
// rows, and a second run is a no-op. On Postgres, concurrent starters serialise on the advisory lock.
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createTestDb, onPostgres } from "../test/db.ts";
import { openPostgres } from "./client.ts";
import { migrateDb } from "./migrate.ts";
import { projects, workers } from "./schema/index.ts";

const rows = <T>(r: unknown) => (r as { rows: T[] }).rows;

describe("migrations", () => {
  it("apply to an empty database, seed day-1 rows, and re-run as a no-op", async () => {
    const t = await createTestDb({ migrated: false });
    try {
      await migrateDb(t.handle);
      const tables = rows<{ table_name: string }>(
        await t.db.execute(
          sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`,
        ),
      ).map((r) => r.table_name);
      expect(tables).toEqual([
        "agent_runs",
        "crm_links",
        "deliverables",
        "knowledge",
        "outbox",
        "plans",
        "projects",
        "provider_cooldowns",
        "reviewers",
        "reviews",
        "settings",
        "slack_messages",
        "stamp_links",
        "stamps",
        "task_dependencies",
        "task_events",
        "tasks",
        "token_usage",
        "tool_calls",
        "worker_leases",
        "workers",
      ]);
      const applied = async () =>
        rows<{ n: number }>(
          await t.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`),
        )[0]?.n;
      const first = await applied();
      expect(first).toBeGreaterThanOrEqual(2);
      expect(await t.db.select().from(projects)).toMatchObject([{ id: "proj_default" }]);
      expect(await t.db.select().from(workers)).toMatchObject([{ id: "crm-setup", slots: 1 }]);

      await migrateDb(t.handle);
      expect(await applied()).toBe(first);
      expect(await t.db.select().from(workers)).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it.runIf(onPostgres)("serialise three concurrent starters on an empty Postgres database", async () => {
    const t = await createTestDb({ migrated: false });
    const pools = [0, 1, 2].map(() => openPostgres(t.url as string, 2));
    try {
      await Promise.all(pools.map((p) => migrateDb(p)));
      expect(await t.db.select().from(workers)).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
      await t.close();
    }
  });
});
