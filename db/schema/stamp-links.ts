// Signed client stamp links: one row per minted link (token id, task, stage, the deliverable version
// it shows, expiry). Single use is enforced in the database by the `stamps` unique (channel,
// source_ref): a link's decision is a stamp whose source_ref is the token id; used_at records when.
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";
import { reviewStage } from "./enums.ts";
import { tasks } from "./tasks.ts";

export const stampLinks = pgTable("stamp_links", {
  tokenId: text("token_id").primaryKey(),
  taskId: text("task_id")
    .notNull()
    .references(() => tasks.id),
  stage: reviewStage("stage").notNull(),
  deliverableHash: text("deliverable_hash").notNull(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  usedAt: timestamp("used_at", { withTimezone: true }),
  usedBy: text("used_by"),
  createdAt: createdAt(),
});
