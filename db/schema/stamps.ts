// Human stamps: who decided what, through which channel, on which exact deliverable (its hash).
import { index, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { reviewStage, stampDecision } from "./enums.ts";
import { reviewers } from "./reviewers.ts";
import { tasks } from "./tasks.ts";

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
