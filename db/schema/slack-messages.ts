// Slack messages foreman posted and may need again: the review card of a deliverable version (to
// update it after a decision, and to thread reminders under it), a task's notification thread, and
// each notice posted in it (lib/notify). Keyed by what the message is for, so a retried step finds
// the message it already posted.
import { index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, updatedAt } from "./columns.ts";
import { tasks } from "./tasks.ts";

export const slackMessages = pgTable(
  "slack_messages",
  {
    /** What the message is for: `card:<stage>:<taskId>:<hash>`, `thread:<taskId>` (the thread's root),
     *  or `notice:<taskId>:…` (one notice in the thread, kind `thread`). */
    key: text("key").primaryKey(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    kind: text("kind", { enum: ["card", "thread"] }).notNull(),
    channel: text("channel").notNull(),
    ts: text("ts").notNull(),
    deliverableHash: text("deliverable_hash"),
    /** Dry-run: the message was recorded as WOULD_DO, not sent. */
    recorded: text("recorded", { enum: ["sent", "would_do"] })
      .notNull()
      .default("sent"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("slack_messages_task_idx").on(t.taskId)],
);
