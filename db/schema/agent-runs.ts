// Work attempts: one row per agent run; only its status (and end time) ever changes.
import { index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { runStatus } from "./enums.ts";
import { tasks } from "./tasks.ts";
import { workers } from "./workers.ts";

export const agentRuns = pgTable(
  "agent_runs",
  {
    id: idColumn(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    workerId: text("worker_id")
      .notNull()
      .references(() => workers.id),
    attempt: integer("attempt").notNull(),
    /** The only column that changes after insert. */
    status: runStatus("status").notNull().default("running"),
    inngestRunId: text("inngest_run_id"),
    startedAt: createdAt(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
  },
  (t) => [index("agent_runs_task_idx").on(t.taskId), index("agent_runs_status_idx").on(t.status)],
);
