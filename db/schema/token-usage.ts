// The token ledger: one row per model call (provider, model, tier, purpose, tokens, cost), idempotent
// on the calling step's key.
import { bigint, index, integer, numeric, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
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
    /** primary (Anthropic) · overflow (OpenAI-compatible) · local (the GPU bridge). */
    tier: text("tier", { enum: ["primary", "overflow", "local"] })
      .notNull()
      .default("primary"),
    /** What the call was for: work, review, triage, digest, … */
    purpose: text("purpose").notNull().default("work"),
    tokensIn: integer("tokens_in").notNull(),
    tokensOut: integer("tokens_out").notNull(),
    cacheReadTokens: integer("cache_read_tokens").notNull().default(0),
    cacheWriteTokens: integer("cache_write_tokens").notNull().default(0),
    costUsd: numeric("cost_usd", { precision: 12, scale: 6 }).notNull().default("0"),
    /** The step's key (run id + step id): a retried step meters once. */
    idempotencyKey: text("idempotency_key"),
    at: createdAt(),
  },
  (t) => [
    index("token_usage_at_idx").on(t.at),
    index("token_usage_task_idx").on(t.taskId),
    uniqueIndex("token_usage_idempotency_uq").on(t.idempotencyKey),
  ],
);
