// Data the SQL migrations cannot compute: rows written before a column existed, filled in by the
// same code that fills new rows, so there is never a second copy of a rule in SQL. migrateDb runs
// every step after the migrations; each is idempotent and one indexed read when nothing is owed.
import { sql } from "drizzle-orm";
import { classOfReason } from "../lib/failures.ts";
import { rowsOf, toJsonb } from "./rows.ts";
import type { AppDb } from "./types.ts";

/** Rows classified per statement: a large backlog takes several rounds, none of them long. */
const BATCH = 1000;

/**
 * Tasks failed before tasks.failure_class existed (migration 0013) have no class, so the list filter
 * (`GET /api/tasks?failure_class=`) missed them. Each gets the class its reason names, read by the
 * one classifier, as the transition would have stored it. Returns how many rows were classified.
 */
export async function backfillFailureClasses(db: AppDb): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = rowsOf<{ id: string; status_reason: string | null }>(
      await db.execute(sql`
        select id, status_reason from tasks
         where status = 'failed_needs_triage' and failure_class is null
         order by id limit ${BATCH}`),
    );
    if (rows.length === 0) return total;
    const classes = toJsonb(rows.map((r) => ({ id: r.id, cls: classOfReason(r.status_reason) })));
    await db.execute(sql`
      update tasks t set failure_class = x.cls
        from jsonb_to_recordset(${classes}::jsonb) as x(id text, cls text)
       where t.id = x.id and t.status = 'failed_needs_triage' and t.failure_class is null`);
    total += rows.length;
    if (rows.length < BATCH) return total;
  }
}
