// Projects: a client or internal account; owns plans, rubric defaults, budget share, the HubSpot company.
import { boolean, jsonb, pgTable, real, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn, updatedAt } from "./columns.ts";

export const projects = pgTable("projects", {
  id: idColumn(),
  name: text("name").notNull().unique(),
  /** The HubSpot company this project mirrors; a ticket's company creates the project on first sight. */
  hubspotCompanyId: text("hubspot_company_id").unique("projects_hubspot_company_uq"),
  /** When true, work that passed AI review still needs an internal (Slack) stamp before the client sees it. */
  requiresInternalStamp: boolean("requires_internal_stamp").notNull().default(true),
  /** Relative share of the daily budget for fair scheduling between projects. */
  budgetShare: real("budget_share").notNull().default(1),
  rubricDefaults: jsonb("rubric_defaults").$type<string[]>().notNull().default([]),
  timezone: text("timezone").notNull().default("UTC"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});
