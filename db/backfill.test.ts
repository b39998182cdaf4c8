// The data steps migrateDb runs after the migrations: a task failed before tasks.failure_class
// existed gets the class its reason names — so the list filter finds it — and a second run changes
// nothing.
import { eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { listTasks } from "../lib/tasks/read.ts";
import { useTestDb } from "../test/db.ts";
import { insertTask } from "../test/fixtures.ts";
import { backfillFailureClasses } from "./backfill.ts";
import { migrateDb } from "./migrate.ts";
import { tasks } from "./schema/index.ts";

const t = useTestDb();

describe("backfill", () => {
  it("classes tasks failed before failure_class existed, by their reason, once", async () => {
    const db = t.current.db;
    const legacy = [
      await insertTask(db, { status: "failed_needs_triage", statusReason: "auth: the key was revoked" }),
      await insertTask(db, { status: "failed_needs_triage", statusReason: "HubSpot answered 503 twice" }),
      await insertTask(db, { status: "failed_needs_triage", statusReason: null }),
    ];
    const classed = await insertTask(db, {
      status: "failed_needs_triage",
      statusReason: "auth: refused",
      failureClass: "budget",
    });
    const ready = await insertTask(db, { status: "ready", statusReason: "auth: an old reason" });
    expect((await listTasks(db, { failure_class: "auth" })).tasks).toEqual([]);

    await migrateDb(t.current.handle);
    const rows = await db
      .select({ id: tasks.id, cls: tasks.failureClass })
      .from(tasks)
      .where(inArray(tasks.id, [...legacy.map((x) => x.id), classed.id, ready.id]));
    const clsOf = new Map(rows.map((r) => [r.id, r.cls]));
    expect(legacy.map((x) => clsOf.get(x.id))).toEqual(["auth", "external_api", "other"]);
    expect(clsOf.get(classed.id), "a stored class is kept").toBe("budget");
    expect(clsOf.get(ready.id), "only failed tasks are classed").toBeNull();
    const after = await listTasks(db, { failure_class: "auth" });
    expect(after.tasks.map((x) => x.id)).toEqual([legacy[0]?.id]);

    expect(await backfillFailureClasses(db)).toBe(0);
    const [first] = await db
      .select()
      .from(tasks)
      .where(eq(tasks.id, legacy[0]?.id as string));
    expect(first?.failureClass).toBe("auth");
  });
});
