// Tasks. `status` changes only through lib/tasks/transition.ts (compare-and-set on id + status +
// version); the lease, run and deliverable columns are written by the same statement as the move.

import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { FAILURE_CLASSES } from "../../lib/failures.ts";
import { createdAt, idColumn, updatedAt } from "./columns.ts";
import { taskSource, taskState } from "./enums.ts";
import { plans } from "./plans.ts";
import { projects } from "./projects.ts";
import { workers } from "./workers.ts";

export const tasks = pgTable(
  "tasks",
  {
    id: idColumn(),
    projectId: text("project_id").notNull(),
    planId: text("plan_id"),
    title: text("title").notNull(),
    description: text("description").notNull().default(""),
    status: taskState("status").notNull().default("intake"),
    /** Why the task is in its current state (blocked reason, failure class, …). */
    statusReason: text("status_reason"),
    /** When the task entered its current state: set by the move, not by notes, syncs or reassignment
     *  (those touch updated_at), so the scheduler's aging counts from the move into ready. */
    statusSince: timestamp("status_since", { withTimezone: true }).notNull().defaultNow(),
    /** The priority lane P0–P5: 0 urgent · 1 high · 2 normal · 3 low · 4 background · 5 bulk. */
    priority: smallint("priority").notNull().default(2),
    workerId: text("worker_id"),
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
    /** The agent run holding the task's worker slot (the `lease held` guard checks it). */
    currentRunId: text("current_run_id"),
    /** When the current lease lapses; the watchdog reclaims leases past it. */
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    /** Content hash of the deliverable under review (the `deliverable current` guard checks it). */
    deliverableHash: text("deliverable_hash"),
    triagedAt: timestamp("triaged_at", { withTimezone: true }),
    /** Triage's call: an internal (Slack) stamp before the client sees the work; null = the project's rule. */
    requiresInternalStamp: boolean("requires_internal_stamp"),
    /** The class of the last move to failed_needs_triage (lib/failures.ts), set by that transition. */
    failureClass: text("failure_class", { enum: FAILURE_CLASSES }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex("tasks_source_ref_uq").on(t.source, t.sourceRef),
    // The scheduler reads ready tasks by lane (priority) and age.
    index("tasks_scheduler_idx").on(t.status, t.priority, t.createdAt),
    index("tasks_project_status_idx").on(t.projectId, t.status),
    index("tasks_plan_idx").on(t.planId),
    // Named, because lib/tasks/submit.ts maps a violation back to the input field it came from.
    foreignKey({ name: "tasks_project_fk", columns: [t.projectId], foreignColumns: [projects.id] }),
    foreignKey({ name: "tasks_worker_fk", columns: [t.workerId], foreignColumns: [workers.id] }),
    foreignKey({
      name: "tasks_plan_in_project_fk",
      columns: [t.planId, t.projectId],
      foreignColumns: [plans.id, plans.projectId],
    }),
    check("tasks_priority_range", sql`${t.priority} between 0 and 5`),
    check("tasks_title_not_blank", sql`length(trim(${t.title})) > 0`),
  ],
);
