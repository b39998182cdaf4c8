// Row fixtures: each test makes its own rows with fresh ids.
import { taskDependencies, tasks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { taskStateChanged } from "../lib/events.ts";
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

/** A transition idempotency key no other call uses. */
export const freshKey = (): string => `test:${crypto.randomUUID()}`;

/**
 * A task already `done` with one triaged dependent waiting only on it, and the `task/state.changed`
 * event that announced the finish (what `promote` reacts to). Rows are written directly, not through
 * the transition service, so the fixture does not depend on how a task gets to `done`.
 */
export async function doneTaskWithDependent(db: AppDb) {
  const done = await insertTask(db, { status: "done", version: 3 });
  const dependent = await insertTask(db, { status: "intake", triagedAt: new Date() });
  await db.insert(taskDependencies).values({ taskId: dependent.id, dependsOnId: done.id });
  const event = taskStateChanged.create(
    {
      taskId: done.id,
      from: "awaiting_client_review",
      to: "done",
      version: done.version,
      eventId: 1,
      reason: null,
      actor: "client",
    },
    { id: `state-changed:${done.id}:${done.version}` },
  );
  return { done, dependent, event };
}
