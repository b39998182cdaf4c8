// The price table and the cost of a call: built-in defaults, config overrides, dated model names, the
// local tier, cache tokens, and micro-dollar rounding.
import { describe, expect, it } from "vitest";
import { costUsd, DEFAULT_PRICES, LOCAL_PRICE_KEY, priceFor } from "./cost.ts";

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0) => ({
  input,
  output,
  cacheRead,
  cacheWrite,
});

describe("priceFor", () => {
  it("prices every tier's default model out of the box", () => {
    expect(priceFor("claude-sonnet-4-5", "primary")).toEqual({
      input: 3,
      output: 15,
      cacheRead: 0.3,
      cacheWrite: 3.75,
    });
    expect(priceFor("gpt-4.1", "overflow")).toEqual({ input: 2, output: 8, cacheRead: 0.5 });
    expect(priceFor("local", "local")).toBe(DEFAULT_PRICES[LOCAL_PRICE_KEY]);
  });

  it("lets config override a built-in price and add new models", () => {
    const overrides = { "gpt-4.1": { input: 1, output: 4 }, "my-model": { input: 0.5, output: 0.5 } };
    expect(priceFor("gpt-4.1", "overflow", overrides)).toEqual({ input: 1, output: 4 });
    expect(priceFor("my-model", "overflow", overrides)).toEqual({ input: 0.5, output: 0.5 });
    expect(priceFor("claude-sonnet-4-5", "primary", overrides)?.input).toBe(3);
  });

  it("prices a dated snapshot by its longest base name", () => {
    expect(priceFor("claude-sonnet-4-5-20250929", "primary")?.input).toBe(3);
    expect(priceFor("gpt-4.1-mini-2025-04-14", "overflow")?.input).toBe(0.4);
    expect(priceFor("gpt-4.1-2025-04-14", "overflow")?.input).toBe(2);
    expect(priceFor("claude-sonnet-5-5-20261001", "primary")).toBe(DEFAULT_PRICES["claude-sonnet-5-5"]);
  });

  it("prices any local model with the local entry, which config may override", () => {
    expect(priceFor("qwen3-32b", "local")).toBe(DEFAULT_PRICES[LOCAL_PRICE_KEY]);
    expect(priceFor("qwen3-32b", "local", { local: { input: 0, output: 1 } })).toEqual({
      input: 0,
      output: 1,
    });
  });

  it("knows no price for an unknown hosted model", () => {
    expect(priceFor("mystery-9000", "overflow")).toBeUndefined();
    expect(priceFor("gpt-4.10", "overflow")).toBeUndefined();
  });
});

describe("costUsd", () => {
  it("charges input, output, cache reads and cache writes at their own rates", () => {
    const sonnet = priceFor("claude-sonnet-4-5", "primary");
    // 1,000 × $3 + 500 × $15 + 10,000 × $0.30 + 2,000 × $3.75, per million
    expect(costUsd(usage(1000, 500, 10_000, 2000), sonnet)).toBe(0.021);
  });

  it("charges unpriced cache tokens at the input rate", () => {
    expect(costUsd(usage(0, 0, 1_000_000, 1_000_000), { input: 2, output: 8 })).toBe(4);
  });

  it("rounds to the micro-dollar and costs nothing without a price", () => {
    expect(costUsd(usage(1, 1), { input: 0.3, output: 0.3 })).toBe(0.000001);
    expect(costUsd(usage(1, 0), { input: 0.4, output: 0 })).toBe(0);
    expect(costUsd(usage(123_456, 7_890), undefined)).toBe(0);
  });
});
