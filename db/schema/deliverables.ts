// Deliverables: each version a worker submits (markdown plus a structured result) with its content
// hash; stamps approve one hash, and the `deliverable_current` guard compares against the newest.
import { index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { agentRuns } from "./agent-runs.ts";
import { createdAt, idColumn } from "./columns.ts";
import { tasks } from "./tasks.ts";

export const deliverables = pgTable(
  "deliverables",
  {
    id: idColumn(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id").references(() => agentRuns.id),
    /** 1 for the first submission, +1 per revision. */
    version: integer("version").notNull(),
    hash: text("hash").notNull(),
    markdown: text("markdown").notNull(),
    result: jsonb("result").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("deliverables_task_version_uq").on(t.taskId, t.version),
    index("deliverables_task_idx").on(t.taskId),
  ],
);
