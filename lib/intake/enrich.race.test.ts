// Two tickets of a company foreman has not seen, enriched at once, on real PostgreSQL (PGlite runs
// one statement at a time): the first enrich's new project is held uncommitted in a transaction while
// the second starts and waits on the company's unique index; once the first commits, the second must
// take that project — not fall back, unseen, to the default one.
import { eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { projects, tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import type { TicketForIntake } from "../hubspot/tickets.ts";
import { enrichFromTicket } from "./enrich.ts";

const t = useTestDb();

const ticket = (id: string): TicketForIntake => ({
  id,
  subject: `Ticket ${id}`,
  content: "Set up the pipeline.",
  priority: null,
  pipeline: null,
  stage: null,
  taskId: null,
  company: { id: "9007199254740993", name: "Racing Co", domain: "racing.example" },
});

async function waitForLockWait(db: AppDb): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = (await db.execute(sql`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`)) as unknown as {
      rows: { n: number }[];
    };
    if ((r.rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the second enrich never waited on the first");
}

describe.runIf(onPostgres)("two tickets of a new company enriched at once (real Postgres)", () => {
  it("puts both tasks in the one project the first created", async () => {
    const db = t.current.db;
    const a = await insertTask(db, { status: "intake", source: "hubspot", sourceRef: "5001" });
    const b = await insertTask(db, { status: "intake", source: "hubspot", sourceRef: "5002" });
    const client = new pg.Client({ connectionString: t.current.url });
    await client.connect();
    let second: Awaited<ReturnType<typeof enrichFromTicket>>;
    let first: Awaited<ReturnType<typeof enrichFromTicket>>;
    try {
      await client.query("begin");
      first = await enrichFromTicket(drizzle({ client }) as unknown as AppDb, a.id, ticket("5001"));
      const pending = enrichFromTicket(db, b.id, ticket("5002"));
      await waitForLockWait(db);
      await client.query("commit");
      second = await pending;
    } finally {
      await client.end();
    }
    const made = await db.select().from(projects).where(eq(projects.hubspotCompanyId, "9007199254740993"));
    expect(made).toHaveLength(1);
    expect(first.projectId).toBe(made[0]?.id);
    expect(second.projectId).toBe(made[0]?.id);
    const [row] = await db.select().from(tasks).where(eq(tasks.id, b.id));
    expect(row?.projectId).toBe(made[0]?.id);
  });
});
