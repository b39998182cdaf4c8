// AI review verdicts: one per (task, revision), with per-criterion scores and feedback.
import { index, integer, jsonb, pgTable, real, text, uniqueIndex } from "drizzle-orm/pg-core";
import { agentRuns } from "./agent-runs.ts";
import { createdAt, idColumn } from "./columns.ts";
import { reviewers } from "./reviewers.ts";
import { tasks } from "./tasks.ts";

export const reviews = pgTable(
  "reviews",
  {
    id: idColumn(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id").references(() => agentRuns.id),
    reviewerId: text("reviewer_id").references(() => reviewers.id),
    revision: integer("revision").notNull(),
    verdict: text("verdict", { enum: ["pass", "fail"] }).notNull(),
    score: real("score"),
    feedback: text("feedback").notNull().default(""),
    criteria: jsonb("criteria").$type<Record<string, unknown>[]>().notNull().default([]),
    model: text("model"),
    /** The deliverable version this verdict is about. */
    deliverableHash: text("deliverable_hash"),
    tokensIn: integer("tokens_in").notNull().default(0),
    tokensOut: integer("tokens_out").notNull().default(0),
    latencyMs: integer("latency_ms").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("reviews_task_idx").on(t.taskId),
    // One verdict per revision: a retried review step never writes twice.
    uniqueIndex("reviews_task_revision_uq").on(t.taskId, t.revision),
  ],
);
