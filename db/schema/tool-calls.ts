// The ledger of side-effecting tool calls that went through: one row per call key (`<runId>:<callId>`),
// with the result the model was given. A tool step that Inngest retries after the CRM write succeeded
// (the step died before its result reached the engine) finds its row and answers the same result
// instead of writing twice — a second note on the client's ticket, a second pipeline stage.
import { index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";
import { tasks } from "./tasks.ts";

export const toolCalls = pgTable(
  "tool_calls",
  {
    key: text("key").primaryKey(),
    taskId: text("task_id")
      .notNull()
      .references(() => tasks.id),
    runId: text("run_id").notNull(),
    tool: text("tool").notNull(),
    /** The data handed to the model the first time. */
    result: jsonb("result").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("tool_calls_task_idx").on(t.taskId)],
);
