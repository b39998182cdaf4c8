// Reviewers: AI rubric reviewers (local model) and human stamp authorities (Slack user, email, HubSpot
// user), per project and stage.
import { boolean, index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn } from "./columns.ts";
import { reviewStage } from "./enums.ts";
import { projects } from "./projects.ts";

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
    /** The HubSpot user (webhook `sourceId` "userId:<id>") whose ticket move to Done is this client's stamp. */
    hubspotUserId: text("hubspot_user_id"),
    model: text("model"),
    active: boolean("active").notNull().default(true),
    /** An escalation reviewer: an unstamped review at this stage goes to them after the escalation delay. */
    escalates: boolean("escalates").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [index("reviewers_project_stage_idx").on(t.projectId, t.stage)],
);
