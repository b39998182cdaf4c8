// Operational tables: the token ledger, CRM links, knowledge (briefs/SOPs, full-text indexed) and settings.
import { sql } from "drizzle-orm";
import {
  bigint,
  customType,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  text,
  timestamp,
} from "drizzle-orm/pg-core";
import { createdAt, idColumn, updatedAt } from "./columns.ts";
import { projects } from "./projects.ts";
import { agentRuns } from "./runs.ts";
import { tasks } from "./tasks.ts";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const tokenUsage = pgTable(
  "token_usage",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    taskId: text("task_id").references(() => tasks.id),
    runId: text("run_id").references(() => agentRuns.id),
    projectId: text("project_id").references(() => projects.id),
    provider: text("provider").notNull(),
    model: text("model").notNull(),
    tokensIn: integer("tokens_in").notNull(),
    tokensOut: integer("tokens_out").notNull(),
    costUsd: numeric("cost_usd", { precision: 12, scale: 6 }).notNull().default("0"),
    at: createdAt(),
  },
  (t) => [index("token_usage_at_idx").on(t.at), index("token_usage_task_idx").on(t.taskId)],
);

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

export const knowledge = pgTable(
  "knowledge",
  {
    id: idColumn(),
    projectId: text("project_id").references(() => projects.id),
    kind: text("kind", { enum: ["brief", "sop", "note"] }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    search: tsvector("search").notNull().generatedAlwaysAs(sql`to_tsvector('english', title || ' ' || body)`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("knowledge_search_idx").using("gin", t.search),
    index("knowledge_project_idx").on(t.projectId),
  ],
);

export const settings = pgTable("settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").$type<unknown>().notNull(),
  updatedAt: updatedAt(),
});
