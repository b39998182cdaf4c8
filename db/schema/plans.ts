// Plans: an ordered / DAG set of tasks toward one outcome, inside one project.
import { index, pgTable, text, unique } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { projects } from "./projects.ts";

export const plans = pgTable(
  "plans",
  {
    id: idColumn(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    createdAt: createdAt(),
  },
  (t) => [
    index("plans_project_idx").on(t.projectId),
    // The target of tasks' (plan_id, project_id) foreign key: a task's plan belongs to its project.
    unique("plans_id_project_uq").on(t.id, t.projectId),
  ],
);
