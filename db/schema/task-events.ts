// The append-only event log. Streamed worker events are appended here, never written onto a hot row;
// a trigger (migration 0001/0002) refuses UPDATE, DELETE and TRUNCATE. `kind` is a closed list
// (lib/tasks/event-log.ts), enforced by a CHECK; a transition's idempotency key is unique per task.
import { sql } from "drizzle-orm";
import { bigint, check, index, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { EVENT_KINDS } from "../../lib/tasks/event-kinds.ts";
import { agentRuns } from "./agent-runs.ts";
import { createdAt } from "./columns.ts";
import { tasks } from "./tasks.ts";

const kindList = sql.raw(EVENT_KINDS.map((k) => `'${k}'`).join(", "));

export const taskEvents = pgTable(
  "task_events",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id").references(() => agentRuns.id),
    kind: text("kind").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull().default({}),
    actor: text("actor").notNull(),
    /** The transition's key (run id + step id, or the external delivery id): a repeat is a replay.
     *  A keyed batch of step events (appendEvents with a key) carries `events:<step key>#<i>`. */
    idempotencyKey: text("idempotency_key"),
    at: createdAt(),
  },
  (t) => [
    index("task_events_task_idx").on(t.taskId, t.id),
    // Partial: only keyed rows pay for it — transitions, and the work loop's step events (keyed so a
    // retried step appends them once; event-log bench: 0.95× raw with the keys).
    uniqueIndex("task_events_idempotency_uq")
      .on(t.taskId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    check("task_events_kind_known", sql`${t.kind} in (${kindList})`),
  ],
);
