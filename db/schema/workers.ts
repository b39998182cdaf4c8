// Workers: an agent type + model tier + tool set + slot count (day 1: one CRM worker, one slot).
import { sql } from "drizzle-orm";
import { boolean, check, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";

export const workers = pgTable(
  "workers",
  {
    id: idColumn(),
    name: text("name").notNull(),
    agentType: text("agent_type").notNull(),
    modelTier: text("model_tier").notNull().default("primary"),
    tools: jsonb("tools").$type<string[]>().notNull().default([]),
    slots: integer("slots").notNull().default(1),
    active: boolean("active").notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [check("workers_slots_positive", sql`${t.slots} >= 1`)],
);
