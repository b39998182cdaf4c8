// Plans: an ordered / DAG set of tasks toward one outcome, inside one project.
import { sql } from "drizzle-orm";
import { index, pgTable, text, unique, uniqueIndex } from "drizzle-orm/pg-core";
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
    /** The client's Idempotency-Key: a repeat with the same body answers this plan again. */
    idempotencyKey: text("idempotency_key"),
    /** A hash of the validated body, to tell a repeat from another plan under the same key. */
    submissionHash: text("submission_hash"),
    createdAt: createdAt(),
  },
  (t) => [
    index("plans_project_idx").on(t.projectId),
    // The target of tasks' (plan_id, project_id) foreign key: a task's plan belongs to its project.
    unique("plans_id_project_uq").on(t.id, t.projectId),
    uniqueIndex("plans_idempotency_uq").on(t.idempotencyKey).where(sql`${t.idempotencyKey} is not null`),
  ],
);
