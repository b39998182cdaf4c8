// Postgres enums. The task state list comes from lib/states.ts, the one state table.
import { pgEnum } from "drizzle-orm/pg-core";
import { TASK_STATES } from "../../lib/states.ts";

export const taskState = pgEnum("task_state", TASK_STATES);
export const taskSource = pgEnum("task_source", ["api", "hubspot", "agent", "schedule"]);
export const runStatus = pgEnum("run_status", ["running", "succeeded", "failed", "cancelled"]);
export const reviewStage = pgEnum("review_stage", ["internal", "client"]);
export const stampDecision = pgEnum("stamp_decision", ["approve", "request_changes", "reject"]);
