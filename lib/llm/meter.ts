// Metering: one token_usage row per model call, keyed by the calling step's key and attempt. A step
// the engine retries calls the model again, and the provider bills both calls, so each attempt meters
// its own (meterKey); the same attempt's key meters once, whatever re-runs its insert.
import { z } from "zod";
import { tokenUsage } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import type { Tier, TurnUsage } from "./turn.ts";

export const usageMeta = z.object({
  /** The step's key (e.g. `${runId}:turn-3`): the same key meters once. */
  key: z.string().min(1).max(300),
  /** What the call was for: work, review, triage, digest, … */
  purpose: z.string().min(1).max(64),
  taskId: z.string().min(1).optional(),
  runId: z.string().min(1).optional(),
  projectId: z.string().min(1).optional(),
});
export type UsageMeta = z.input<typeof usageMeta>;

export interface MeteredCall {
  provider: string;
  model: string;
  tier: Tier;
  usage: TurnUsage;
  costUsd: number;
}

/**
 * The metering key of a step's attempt (the handler's zero-based `attempt`): the first keeps the
 * step's key, a retry adds `:a<n>`, so a call re-made by a retried step is counted too.
 */
export const meterKey = (stepKey: string, attempt: number | undefined): string =>
  attempt ? `${stepKey}:a${attempt}` : stepKey;

/** Returns false when the key was already metered (the same attempt's insert run again). */
export async function recordUsage(db: AppDb, call: MeteredCall, rawMeta: UsageMeta): Promise<boolean> {
  const meta = usageMeta.parse(rawMeta);
  const rows = await db
    .insert(tokenUsage)
    .values({
      idempotencyKey: meta.key,
      purpose: meta.purpose,
      taskId: meta.taskId ?? null,
      runId: meta.runId ?? null,
      projectId: meta.projectId ?? null,
      provider: call.provider,
      model: call.model,
      tier: call.tier,
      tokensIn: call.usage.input,
      tokensOut: call.usage.output,
      cacheReadTokens: call.usage.cacheRead,
      cacheWriteTokens: call.usage.cacheWrite,
      costUsd: call.costUsd.toFixed(6),
    })
    .onConflictDoNothing({ target: tokenUsage.idempotencyKey })
    .returning({ id: tokenUsage.id });
  return rows.length > 0;
}
