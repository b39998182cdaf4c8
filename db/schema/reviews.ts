// AI review verdicts and human stamps. A stamp records the hash of the exact deliverable it approved.
import { index, integer, jsonb, pgTable, real, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { reviewStage, stampDecision } from "./enums.ts";
import { agentRuns } from "./runs.ts";
import { tasks } from "./tasks.ts";
import { reviewers } from "./workers.ts";

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
    createdAt: createdAt(),
  },
  (t) => [index("reviews_task_idx").on(t.taskId)],
);

export const stamps = pgTable(
  "stamps",
  {
    id: idColumn(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    reviewerId: text("reviewer_id").references(() => reviewers.id),
    stage: reviewStage("stage").notNull(),
    decision: stampDecision("decision").notNull(),
    note: text("note").notNull().default(""),
    channel: text("channel", { enum: ["slack", "link", "crm", "api"] }).notNull(),
    /** Who stamped, as the channel names them (Slack user id, email, HubSpot user). */
    actor: text("actor").notNull(),
    deliverableHash: text("deliverable_hash").notNull(),
    /** The channel's own id for the click (Slack action ts, link token id): a repeat is the same stamp. */
    sourceRef: text("source_ref").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("stamps_channel_source_uq").on(t.channel, t.sourceRef),
    index("stamps_task_idx").on(t.taskId),
  ],
);
