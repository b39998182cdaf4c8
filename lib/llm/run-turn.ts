// One model turn of a worker, through the waterfall (DESIGN §6): primary, then overflow. The cooldown
// table is read once per turn and a cooling provider is skipped; a provider that answers 429/529 is
// put in a cooldown until its retry time and the SAME turn goes to the next tier. Anything else (auth,
// 5xx, timeouts, bad requests) is thrown as the adapter mapped it: the function edge decides between
// NonRetriableError and Inngest's backoff. The answering call is metered once per step key.
import type { Config } from "../config.ts";
import type { Deps } from "../deps.ts";
import { DomainError, isDomainError } from "../errors.ts";
import type { ModelClients } from "./clients.ts";
import { activeCooldowns, cooldownMs, startCooldown } from "./cooldowns.ts";
import { costUsd, priceFor } from "./cost.ts";
import { recordUsage, type UsageMeta, usageMeta } from "./meter.ts";
import type { ModelClient, ModelTurnInput, ModelTurnResult } from "./turn.ts";

export type ModelDeps = Pick<Deps, "db" | "now" | "logger"> & {
  config: Pick<Config, "MODEL_PRICES">;
  models: ModelClients;
};

export type TurnMeta = UsageMeta;

export interface MeteredTurnResult extends ModelTurnResult {
  /** USD, from the price table (0 when the model has no price; a warning is logged). */
  costUsd: number;
}

const reasonOf = (err: DomainError): string => {
  const cls = err.details?.class;
  return typeof cls === "string" ? `${cls}: ${err.message}` : err.message;
};

export async function runModelTurn(
  deps: ModelDeps,
  input: ModelTurnInput,
  rawMeta: TurnMeta,
): Promise<MeteredTurnResult> {
  const meta = usageMeta.parse(rawMeta);
  const clients = [deps.models.primary, deps.models.overflow].filter((c): c is ModelClient => !!c);
  if (clients.length === 0)
    throw new DomainError(
      "CONFIG",
      "No worker model is configured: set ANTHROPIC_API_KEY or OVERFLOW_BASE_URL",
    );
  const cooling = await activeCooldowns(
    deps.db,
    clients.map((c) => c.provider),
    deps.now(),
  );

  for (const client of clients) {
    if (cooling.has(client.provider)) continue;
    let result: ModelTurnResult;
    try {
      result = await client.turn(input);
    } catch (err) {
      if (!isDomainError(err) || err.code !== "RATE_LIMITED") throw err;
      const until = new Date(deps.now().getTime() + cooldownMs(err.retryAfterMs));
      await startCooldown(deps.db, client.provider, until, reasonOf(err));
      cooling.set(client.provider, until);
      deps.logger.warn("model provider cooling down", {
        provider: client.provider,
        tier: client.tier,
        until: until.toISOString(),
        reason: reasonOf(err),
      });
      continue;
    }
    const prices = deps.config.MODEL_PRICES;
    const price = priceFor(result.model, result.tier, prices) ?? priceFor(client.model, result.tier, prices);
    if (!price)
      deps.logger.warn("no price for model; metered at cost 0", { model: result.model, tier: result.tier });
    const cost = costUsd(result.usage, price);
    await recordUsage(deps.db, { ...result, costUsd: cost }, meta);
    return { ...result, costUsd: cost };
  }

  // Every configured provider is cooling down: come back when the first one is free.
  const now = deps.now().getTime();
  const soonest = Math.min(...[...cooling.values()].map((d) => d.getTime()));
  throw new DomainError(
    "RATE_LIMITED",
    `rate_limit: every worker model provider is cooling down (${[...cooling.keys()].join(", ")})`,
    {
      // At least a second: a cooldown ending this very moment must not become a hot retry loop.
      retryAfterMs: Math.max(1000, soonest - now),
      details: { cooldowns: Object.fromEntries([...cooling].map(([p, d]) => [p, d.toISOString()])) },
    },
  );
}
