// What a model call cost, from a price table in USD per million tokens (pure). Built-in prices cover
// the default models of each tier; config.MODEL_PRICES overrides or extends them per model. Unpriced
// cache tokens cost the model's input price.
import type { ModelPrices } from "../config.ts";
import type { Tier, TurnUsage } from "./turn.ts";

export type Price = ModelPrices[string];

/** The key that prices the local tier whatever LOCAL_MODEL is called. */
export const LOCAL_PRICE_KEY = "local";

// Anthropic list prices (checked 2026-12-01; cache writes are the 5-minute rate foreman uses, cache
// reads the published 0.1x, which errs high where a later cut was reported). OpenAI: cached input
// 0.25x, no write premium. Local: a ~$2/h GPU at ~1,500 generated and ~40,000 prefilled tokens a second.
export const DEFAULT_PRICES: ModelPrices = {
  "claude-sonnet-5-5": { input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
  "claude-sonnet-5": { input: 2, output: 10, cacheRead: 0.2, cacheWrite: 2.5 },
  "claude-sonnet-4-6": { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  "claude-sonnet-4-5": { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  "claude-opus-4-5": { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25 },
  "claude-haiku-4-5": { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  "gpt-4.1": { input: 2, output: 8, cacheRead: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cacheRead: 0.1 },
  [LOCAL_PRICE_KEY]: { input: 0.015, output: 0.37 },
};

/**
 * The price of `model`: an exact entry, else the longest entry it extends with a dated or versioned
 * suffix (providers answer "gpt-4.1-2025-04-14" for "gpt-4.1"), else — on the local tier only — the
 * `local` entry. Undefined when nothing matches: the call is then metered at cost 0 and logged.
 */
export function priceFor(model: string, tier: Tier, overrides: ModelPrices = {}): Price | undefined {
  const table: ModelPrices = { ...DEFAULT_PRICES, ...overrides };
  const exact = table[model];
  if (exact) return exact;
  const base = Object.keys(table)
    .filter((k) => model.startsWith(`${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (base) return table[base];
  return tier === "local" ? table[LOCAL_PRICE_KEY] : undefined;
}

/** USD, rounded to the micro-dollar the token_usage.cost_usd column keeps. */
export function costUsd(usage: TurnUsage, price: Price | undefined): number {
  if (!price) return 0;
  const microDollars =
    usage.input * price.input +
    usage.output * price.output +
    usage.cacheRead * (price.cacheRead ?? price.input) +
    usage.cacheWrite * (price.cacheWrite ?? price.input);
  return Math.round(microDollars) / 1e6;
}
