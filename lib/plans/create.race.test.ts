// Racing creates of one plan under one Idempotency-Key, on real PostgreSQL (PGlite runs one statement
// at a time, so a race there proves nothing): exactly one plan and one set of tasks are written, and
// every caller is answered with that plan.
import { count, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { plans, tasks } from "../../db/schema/index.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { freshKey } from "../../test/fixtures.ts";
import { createPlan } from "./create.ts";

const t = useTestDb();

describe.skipIf(!onPostgres)("createPlan under one Idempotency-Key, racing", () => {
  it("20 concurrent creates write one plan, and all twenty answer it", async () => {
    const key = `race-${freshKey()}`;
    const body = {
      title: "Race",
      tasks: [
        { ref: "a", title: "First" },
        { ref: "b", title: "Second", depends_on: ["a"] },
      ],
    };
    const results = await Promise.all(
      Array.from({ length: 20 }, () => createPlan(t.current.db, body, { actor: "api", key })),
    );
    const ids = new Set(results.map((r) => r.plan.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const [planId] = [...ids];
    const [n] = await t.current.db
      .select({ n: count() })
      .from(tasks)
      .where(eq(tasks.planId, planId as string));
    expect(n?.n).toBe(2);
    const [p] = await t.current.db.select({ n: count() }).from(plans).where(eq(plans.idempotencyKey, key));
    expect(p?.n).toBe(1);
    for (const r of results)
      expect(r.tasks.map((x) => x.task.id)).toEqual(results[0]?.tasks.map((x) => x.task.id));
  });
});
