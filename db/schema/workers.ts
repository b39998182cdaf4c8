// Workers (agent type + model tier + tools + slots) and reviewers (AI rubric reviewers or human stamp authorities).

import { sql } from "drizzle-orm";
import { boolean, check, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { reviewStage } from "./enums.ts";
import { projects } from "./projects.ts";

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

export const reviewers = pgTable(
  "reviewers",
  {
    id: idColumn(),
    /** Null: a reviewer for every project. */
    projectId: text("project_id").references(() => projects.id),
    kind: text("kind", { enum: ["ai", "human"] }).notNull(),
    stage: reviewStage("stage").notNull(),
    name: text("name").notNull(),
    slackUserId: text("slack_user_id"),
    email: text("email"),
    model: text("model"),
    active: boolean("active").notNull().default(true),
    createdAt: createdAt(),
  },
  (t) => [index("reviewers_project_stage_idx").on(t.projectId, t.stage)],
);
