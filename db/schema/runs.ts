// Work attempts (agent_runs) and the append-only event log (task_events). Streamed worker events are
// appended here, never written onto a hot row; a trigger (migration 0001) refuses UPDATE and DELETE.
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
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

export const taskEvents = pgTable(
  "task_events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id").references(() => agentRuns.id),
    /** state_changed, submitted, note, would_do, worker_event, … (payloads typed in lib/tasks/events.ts). */
    kind: text("kind").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    actor: text("actor").notNull(),
    at: createdAt(),
  },
  (t) => [index("task_events_task_idx").on(t.taskId, t.id), index("task_events_at_idx").on(t.at)],
);
