// Provider cooldowns (DESIGN §6): a provider that answered 429/529 is skipped until its retry time.
// Functions are stateless, so the memory is a row per provider; concurrent runs that hit the same limit
// upsert the same row, and the later end wins.
import { and, gt, inArray, sql } from "drizzle-orm";
import { providerCooldowns } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";

/** Without a Retry-After (a 529 has none), a provider rests this long. */
export const DEFAULT_COOLDOWN_MS = 30_000;
/** A Retry-After beyond this is clamped: one odd header must not bench the primary for a day. */
export const MAX_COOLDOWN_MS = 15 * 60_000;

export const cooldownMs = (retryAfterMs: number | undefined): number =>
  Math.min(MAX_COOLDOWN_MS, Math.max(0, retryAfterMs ?? DEFAULT_COOLDOWN_MS));

/** The providers among `providers` still cooling down at `now`, with when each cooldown ends. */
export async function activeCooldowns(
  db: AppDb,
  providers: readonly string[],
  now: Date,
): Promise<Map<string, Date>> {
  if (providers.length === 0) return new Map();
  const rows = await db
    .select({ provider: providerCooldowns.provider, until: providerCooldowns.until })
    .from(providerCooldowns)
    .where(and(inArray(providerCooldowns.provider, [...providers]), gt(providerCooldowns.until, now)));
  return new Map(rows.map((r) => [r.provider, r.until]));
}

/** Starts (or extends) a provider's cooldown; an earlier end never shortens a later one. */
export async function startCooldown(db: AppDb, provider: string, until: Date, reason: string): Promise<void> {
  await db
    .insert(providerCooldowns)
    .values({ provider, until, reason })
    .onConflictDoUpdate({
      target: providerCooldowns.provider,
      set: {
        until: sql`greatest(${providerCooldowns.until}, excluded.until)`,
        reason: sql`case when excluded.until >= ${providerCooldowns.until} then excluded.reason else ${providerCooldowns.reason} end`,
        updatedAt: sql`now()`,
      },
    });
}
