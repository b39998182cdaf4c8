// Worker slot leases: one row per occupied slot, (worker, slot) unique, so two leases can never take
// the same slot — the guard is the primary key itself, written as a transition's companion row.
// The expiry lets the watchdog reclaim a slot whose run died.
import { integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { agentRuns } from "./agent-runs.ts";
import { createdAt } from "./columns.ts";
import { tasks } from "./tasks.ts";
import { workers } from "./workers.ts";

export const workerLeases = pgTable(
  "worker_leases",
  {
    workerId: text("worker_id")
      .notNull()
      .references(() => workers.id),
    slot: integer("slot").notNull(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id")
      .notNull()
      .references(() => agentRuns.id),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workerId, t.slot] })],
);
