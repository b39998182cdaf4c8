// Task ↔ HubSpot ticket, with the stage and event last pushed (echo detection, drift checks).
import { bigint, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { updatedAt } from "./columns.ts";
import { tasks } from "./tasks.ts";

export const crmLinks = pgTable("crm_links", {
  taskId: text("task_id")
    .primaryKey()
    .references(() => tasks.id),
  ticketId: text("ticket_id").notNull().unique(),
  pipelineId: text("pipeline_id").notNull(),
  lastSyncedEventId: bigint("last_synced_event_id", { mode: "number" }),
  syncedAt: timestamp("synced_at", { withTimezone: true }),
  updatedAt: updatedAt(),
});
