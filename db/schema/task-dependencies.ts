// Dependency edges between tasks (the DAG): task_id waits for depends_on_id to be done.
import { sql } from "drizzle-orm";
import { check, foreignKey, index, pgTable, primaryKey, text } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";
import { tasks } from "./tasks.ts";

export const taskDependencies = pgTable(
  "task_dependencies",
  {
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    dependsOnId: text("depends_on_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.dependsOnId] }),
    // Promotion looks up the dependents of a task that just finished: O(dependents).
    index("task_dependencies_depends_on_idx").on(t.dependsOnId),
    foreignKey({
      name: "task_dependencies_depends_on_fk",
      columns: [t.dependsOnId],
      foreignColumns: [tasks.id],
    }),
    check("task_dependencies_no_self", sql`${t.taskId} <> ${t.dependsOnId}`),
  ],
);
