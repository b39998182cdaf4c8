// Row fixtures: each test makes its own rows with fresh ids.
import { tasks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { newId } from "../lib/ids.ts";
import type { TaskState } from "../lib/states.ts";

export async function insertTask(
  db: AppDb,
  overrides: Partial<typeof tasks.$inferInsert> & { status?: TaskState } = {},
) {
  const [row] = await db
    .insert(tasks)
    .values({
      id: newId("task"),
      projectId: "proj_default",
      workerId: "crm-setup",
      title: "fixture task",
      ...overrides,
    })
    .returning();
  if (!row) throw new Error("insertTask: no row returned");
  return row;
}
