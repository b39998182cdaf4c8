// The side-effect ledger (db/schema/tool-calls.ts): a live write tool's result is recorded under the
// call's key right after the write, and a retried step with the same key reads it back instead of
// writing again. One statement each way. What stays open: a process that dies between the CRM's
// answer and this insert, or an insert that fails, writes again on retry — the window is one round
// trip, not a whole step. A failed insert does not fail the step (that would make the retry certain):
// the caller records it in the task's log and goes on.
import { eq } from "drizzle-orm";
import { toolCalls } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";

// The result is stored wrapped ({ data }), so a tool that answers nothing (undefined, null) is still a
// row: the column is NOT NULL, and "no row" must keep meaning "not written yet".
export async function recordedResult(db: AppDb, key: string): Promise<{ result: unknown } | undefined> {
  const [row] = await db.select({ stored: toolCalls.result }).from(toolCalls).where(eq(toolCalls.key, key));
  return row ? { result: (row.stored as { data?: unknown } | null)?.data ?? null } : undefined;
}

export async function recordResult(
  db: AppDb,
  row: { key: string; taskId: string; runId: string; tool: string; result: unknown },
): Promise<void> {
  await db
    .insert(toolCalls)
    .values({ ...row, result: { data: row.result ?? null } })
    .onConflictDoNothing({ target: toolCalls.key });
}
