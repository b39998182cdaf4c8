// The token ledger: one row per model call (provider, model, tokens, cost).
import { bigint, index, integer, numeric, pgTable, text } from "drizzle-orm/pg-core";
import { agentRuns } from "./agent-runs.ts";
import { createdAt } from "./columns.ts";
import { projects } from "./projects.ts";
import { tasks } from "./tasks.ts";

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
