// Tasks and their dependency edges. `status` changes only through lib/tasks/transition.ts
// (compare-and-set on id + status + version).
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, updatedAt } from "./columns.ts";
import { taskSource, taskState } from "./enums.ts";
import { plans, projects } from "./projects.ts";
import { workers } from "./workers.ts";

export const tasks = pgTable(
  "tasks",
  {
    id: idColumn(),
    projectId: text("project_id")
      .notNull()
      .references(() => projects.id),
    planId: text("plan_id").references(() => plans.id),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    status: taskState("status").notNull().default("intake"),
    /** Why the task is in its current state (blocked reason, failure class, …). */
    statusReason: text("status_reason"),
    /** 0 urgent · 1 high · 2 normal · 3 low. */
    priority: smallint("priority").notNull().default(2),
    workerId: text("worker_id").references(() => workers.id),
    rubric: jsonb("rubric").$type<string[]>().notNull().default([]),
    dryRun: boolean("dry_run").notNull().default(false),
    source: taskSource("source").notNull().default("api"),
    /** The source's own id (HubSpot ticket id, client idempotency key, …): unique per source. */
    sourceRef: text("source_ref"),
    /** Hash of the submitted body, so a reused idempotency key with a different body is refused. */
    submissionHash: text("submission_hash"),
    version: integer("version").notNull().default(0),
    lastEventId: bigint("last_event_id", { mode: "number" }),
    revisionCount: integer("revision_count").notNull().default(0),
    triagedAt: timestamp("triaged_at", { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("tasks_source_ref_uq").on(t.source, t.sourceRef),
    // The scheduler reads ready tasks by lane (priority) and age.
    index("tasks_scheduler_idx").on(t.status, t.priority, t.createdAt),
    index("tasks_project_status_idx").on(t.projectId, t.status),
    index("tasks_plan_idx").on(t.planId),
    check("tasks_priority_range", sql`${t.priority} between 0 and 3`),
    check("tasks_title_not_blank", sql`length(trim(${t.title})) > 0`),
  ],
);

export const taskDependencies = pgTable(
  "task_dependencies",
  {
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    dependsOnId: text("depends_on_id")
      .notNull()
      .references(() => tasks.id),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.dependsOnId] }),
    // Promotion looks up the dependents of a task that just finished: O(dependents).
    index("task_dependencies_depends_on_idx").on(t.dependsOnId),
    check("task_dependencies_no_self", sql`${t.taskId} <> ${t.dependsOnId}`),
  ],
);
