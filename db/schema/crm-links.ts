// Task ↔ HubSpot ticket: what crm-sync last pushed (stage, state, event) and when, so a sync writes
// only what differs and an inbound webhook carrying our own write is recognised without a HubSpot read.
import { bigint, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { updatedAt } from "./columns.ts";
import { taskState } from "./enums.ts";
import { tasks } from "./tasks.ts";

/** One stage write of ours, as echo detection matches it (at: ms since the epoch). */
export interface CrmPush {
  stageId: string;
  eventId: number;
  at: number;
}

export const crmLinks = pgTable("crm_links", {
  taskId: text("task_id")
    .primaryKey()
    .references(() => tasks.id),
  /** Null until the ticket is known (created, adopted by task_id, or the task's own HubSpot ticket). */
  ticketId: text("ticket_id").unique(),
  pipelineId: text("pipeline_id"),
  /** The task event last written as the ticket's last_event_id. */
  lastSyncedEventId: bigint("last_synced_event_id", { mode: "number" }),
  syncedAt: timestamp("synced_at", { withTimezone: true }),
  /** The state whose stage we last put the ticket in. */
  pushedState: taskState("pushed_state"),
  /** The stage the ticket is known to be in: ours, or the one a person left it in when we refused the move. */
  pushedStageId: text("pushed_stage_id"),
  /** Our latest stage writes, newest last (a few): an inbound change matching one of them is our echo. */
  pushes: jsonb("pushes").$type<CrmPush[]>().notNull().default([]),
  /** A create went out and its answer may be lost: the next attempt first addresses the ticket by task_id. */
  createAttemptedAt: timestamp("create_attempted_at", { withTimezone: true }),
  /** The task version HubSpot refused to sync (a 4xx): not retried until the task moves again. */
  refusedVersion: integer("refused_version"),
  lastError: text("last_error"),
  /** Dry-run: the task event last recorded as a WOULD_DO (apart from the live columns above). */
  wouldDoEventId: bigint("would_do_event_id", { mode: "number" }),
  updatedAt: updatedAt(),
});
