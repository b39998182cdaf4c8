// The waterfall end to end: real SDKs against both fakes, cooldowns and metering in the database
// (PGlite, or PostgreSQL with TEST_DATABASE_URL). A primary 429/529 cools the primary down and the
// same turn completes on overflow; later turns skip the primary until the cooldown ends (the clock is
// injected); 401 stops at once; 5xx and timeouts are left to Inngest; a step key meters once.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { providerCooldowns, tokenUsage } from "../../db/schema/index.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { failure } from "../../test/failure.ts";
import { type AnthropicFake, startAnthropicFake } from "../../test/fakes/anthropic.ts";
import { errorTurn, textTurn, toolTurn } from "../../test/fakes/model-script.ts";
import { type OpenAIChatFake, startOpenAIChatFake } from "../../test/fakes/openai-chat.ts";
import { insertTask } from "../../test/fixtures.ts";
import { conversation, conversationTools, SYSTEM } from "../../test/model-conversation.ts";
import { loadConfig } from "../config.ts";
import { createModelClients, type ModelClientOptions } from "./clients.ts";
import { DEFAULT_COOLDOWN_MS, startCooldown } from "./cooldowns.ts";
import { recordUsage } from "./meter.ts";
import { toOpenAIMessages } from "./openai-translate.ts";
import { type ModelDeps, runModelTurn } from "./run-turn.ts";
import type { ModelTurnInput } from "./turn.ts";

const t = useTestDb();
let primary: AnthropicFake;
let overflow: OpenAIChatFake;
beforeAll(async () => {
  primary = await startAnthropicFake();
  overflow = await startOpenAIChatFake();
});
afterAll(async () => {
  await primary.close();
  await overflow.close();
});

const T0 = new Date("2026-12-01T10:00:00.000Z");
let clock = T0;
const at = (ms: number) => new Date(T0.getTime() + ms);
const warnings: string[] = [];

beforeEach(async () => {
  primary.reset();
  overflow.reset();
  clock = T0;
  warnings.length = 0;
  await t.current.db.delete(providerCooldowns);
});

function deps(env: Record<string, string> = {}, opts: ModelClientOptions = {}): ModelDeps {
  const config = loadConfig(
    {
      ANTHROPIC_API_KEY: primary.apiKey,
      ANTHROPIC_BASE_URL: primary.url,
      ANTHROPIC_MODEL: "claude-sonnet-5-5",
      OVERFLOW_BASE_URL: overflow.baseUrl,
      OVERFLOW_API_KEY: overflow.apiKey,
      OVERFLOW_MODEL: "gpt-4.1",
      ...env,
    },
    "node",
  );
  return {
    db: t.current.db,
    now: () => clock,
    logger: { debug() {}, info() {}, warn: (msg) => warnings.push(msg), error() {} },
    config,
    models: createModelClients(config, opts),
  };
}

const input: ModelTurnInput = {
  system: SYSTEM,
  messages: conversation,
  tools: conversationTools,
  maxTokens: 1024,
};
const key = () => `run_test:${crypto.randomUUID()}:turn`;

const usageRows = (k: string) =>
  t.current.db.select().from(tokenUsage).where(eq(tokenUsage.idempotencyKey, k));
const cooldownOf = async (provider: string) =>
  (await t.current.db.select().from(providerCooldowns).where(eq(providerCooldowns.provider, provider)))[0];

describe("runModelTurn on the primary", () => {
  it("answers on the primary and writes one token_usage row with its cost", async () => {
    const task = await insertTask(t.current.db);
    primary.queue(
      toolTurn(
        "crm_search",
        { object: "tickets", query: "x" },
        { usage: { input: 2000, output: 300, cacheRead: 10_000, cacheWrite: 1000 } },
      ),
    );
    const k = key();
    const r = await runModelTurn(deps(), input, {
      key: k,
      purpose: "work",
      taskId: task.id,
      projectId: task.projectId,
    });
    expect(r).toMatchObject({
      tier: "primary",
      provider: "anthropic",
      model: "claude-sonnet-5-5",
      stop: "tool_use",
    });
    // 2,000 × $2 + 300 × $10 + 10,000 × $0.20 + 1,000 × $2.50 per million
    expect(r.costUsd).toBe(0.0115);
    const rows = await usageRows(k);
    expect(rows).toEqual([
      expect.objectContaining({
        taskId: task.id,
        projectId: task.projectId,
        runId: null,
        provider: "anthropic",
        model: "claude-sonnet-5-5",
        tier: "primary",
        purpose: "work",
        tokensIn: 2000,
        tokensOut: 300,
        cacheReadTokens: 10_000,
        cacheWriteTokens: 1000,
        costUsd: "0.011500",
      }),
    ]);
    expect(overflow.calls).toHaveLength(0);
  });

  it("meters a step key once, even when the retried step calls the model again", async () => {
    primary.queue(
      textTurn("first", { usage: { input: 100, output: 10 } }),
      textTurn("again", { usage: { input: 999, output: 99 } }),
    );
    const k = key();
    await runModelTurn(deps(), input, { key: k, purpose: "work" });
    await runModelTurn(deps(), input, { key: k, purpose: "work" });
    expect(primary.calls).toHaveLength(2);
    const rows = await usageRows(k);
    expect(rows.map((r) => [r.tokensIn, r.tokensOut])).toEqual([[100, 10]]);
  });

  it("prices from config.MODEL_PRICES over the built-in table, and meters an unpriced model at 0 with a warning", async () => {
    const priced = deps({
      MODEL_PRICES: JSON.stringify({ "claude-sonnet-5-5": { input: 10, output: 100 } }),
    });
    primary.queue(textTurn("a", { usage: { input: 1000, output: 1000, cacheRead: 1000 } }));
    expect((await runModelTurn(priced, input, { key: key(), purpose: "review" })).costUsd).toBe(0.12);
    const unknown = deps({ ANTHROPIC_MODEL: "claude-experimental" });
    const k = key();
    expect((await runModelTurn(unknown, input, { key: k, purpose: "work" })).costUsd).toBe(0);
    expect((await usageRows(k))[0]?.costUsd).toBe("0.000000");
    expect(warnings).toContain("no price for model; metered at cost 0");
  });

  it("refuses a turn without a step key before calling anything", async () => {
    await expect(runModelTurn(deps(), input, { key: "", purpose: "work" })).rejects.toThrow();
    expect(primary.calls).toHaveLength(0);
  });
});

describe("the waterfall", () => {
  it("primary 429 → the same turn completes on overflow, the cooldown is stored, the next turns skip the primary until it ends", async () => {
    const d = deps();
    primary.queue(errorTurn("rate_limit", { retryAfter: 42 }));
    overflow.queue(
      toolTurn("crm_search", { object: "companies", query: "ACME" }, { usage: { input: 500, output: 20 } }),
    );
    const k1 = key();
    const r = await runModelTurn(d, input, { key: k1, purpose: "work" });
    expect(r).toMatchObject({
      tier: "overflow",
      provider: new URL(overflow.url).host,
      model: "gpt-4.1",
      stop: "tool_use",
    });
    expect(r.toolCalls).toEqual([
      { id: expect.any(String), name: "crm_search", input: { object: "companies", query: "ACME" } },
    ]);
    // The same turn, translated: the overflow saw the whole conversation and the tools.
    expect(overflow.requests[0]?.body.messages).toEqual(
      JSON.parse(JSON.stringify(toOpenAIMessages(SYSTEM, conversation))),
    );
    expect(overflow.requests[0]?.body.tools).toHaveLength(2);
    const cooldown = await cooldownOf("anthropic");
    expect(cooldown?.until.toISOString()).toBe(at(42_000).toISOString());
    expect(cooldown?.reason).toMatch(/^rate_limit: /);
    expect((await usageRows(k1)).map((u) => [u.tier, u.tokensIn, u.costUsd])).toEqual([
      ["overflow", 500, "0.001160"],
    ]);

    clock = at(41_000); // still cooling: the primary is not even asked
    expect((await runModelTurn(d, input, { key: key(), purpose: "work" })).tier).toBe("overflow");
    expect(primary.calls).toHaveLength(1);

    clock = at(42_000); // the cooldown has ended
    const back = await runModelTurn(d, input, { key: key(), purpose: "work" });
    expect(back.tier).toBe("primary");
    expect([primary.calls.length, overflow.calls.length]).toEqual([2, 2]);
  });

  it("primary 529 overloaded → overflow, cooling down for the default time", async () => {
    const d = deps();
    primary.queue(errorTurn("overloaded"));
    const r = await runModelTurn(d, input, { key: key(), purpose: "work" });
    expect(r.tier).toBe("overflow");
    const cooldown = await cooldownOf("anthropic");
    expect(cooldown?.until.toISOString()).toBe(at(DEFAULT_COOLDOWN_MS).toISOString());
    expect(cooldown?.reason).toMatch(/^overloaded: /);
    clock = at(DEFAULT_COOLDOWN_MS - 1);
    await runModelTurn(d, input, { key: key(), purpose: "work" });
    expect(primary.calls).toHaveLength(1);
  });

  it("a shorter cooldown from a concurrent run never shortens a longer one", async () => {
    await startCooldown(t.current.db, "anthropic", at(300_000), "rate_limit: first");
    await startCooldown(t.current.db, "anthropic", at(60_000), "rate_limit: second");
    expect(await cooldownOf("anthropic")).toMatchObject({ until: at(300_000), reason: "rate_limit: first" });
    await startCooldown(t.current.db, "anthropic", at(400_000), "overloaded: third");
    expect(await cooldownOf("anthropic")).toMatchObject({ until: at(400_000), reason: "overloaded: third" });
  });

  it.runIf(onPostgres)(
    "concurrent retries of one step meter once, and concurrent cooldowns keep the latest end",
    async () => {
      const k = key();
      const call = {
        provider: "anthropic",
        model: "claude-sonnet-5-5",
        tier: "primary" as const,
        costUsd: 0.01,
      };
      const usage = { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 };
      const inserted = await Promise.all(
        Array.from({ length: 12 }, () =>
          recordUsage(t.current.db, { ...call, usage }, { key: k, purpose: "work" }),
        ),
      );
      expect(inserted.filter(Boolean)).toHaveLength(1);
      expect(await usageRows(k)).toHaveLength(1);
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          startCooldown(t.current.db, "anthropic", at((i + 1) * 1000), `r${i}`),
        ),
      );
      expect(await cooldownOf("anthropic")).toMatchObject({ until: at(12_000), reason: "r11" });
    },
  );

  it("every provider cooling → RATE_LIMITED until the first frees up, with no model call", async () => {
    primary.queue(errorTurn("rate_limit", { retryAfter: 60 }));
    overflow.queue(errorTurn("rate_limit", { retryAfter: 20 }));
    const err = await failure(runModelTurn(deps(), input, { key: key(), purpose: "work" }));
    expect(err).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 20_000 });
    clock = at(5000);
    const again = await failure(runModelTurn(deps(), input, { key: key(), purpose: "work" }));
    expect(again.retryAfterMs).toBe(15_000);
    expect([primary.calls.length, overflow.calls.length]).toEqual([1, 1]);
  });

  it("without overflow, a primary 429 is RATE_LIMITED with the provider's delay", async () => {
    const d = deps({ OVERFLOW_BASE_URL: "" });
    expect(d.models.overflow).toBeUndefined();
    primary.queue(errorTurn("rate_limit", { retryAfter: 9 }));
    const k = key();
    const err = await failure(runModelTurn(d, input, { key: k, purpose: "work" }));
    expect(err).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 9000 });
    expect(await usageRows(k)).toEqual([]);
    clock = at(4000);
    expect((await failure(runModelTurn(d, input, { key: k, purpose: "work" }))).retryAfterMs).toBe(5000);
    expect(primary.calls).toHaveLength(1);
  });

  it("401 → UNAUTHORIZED of class auth, not retryable, with no second call and nothing stored", async () => {
    const k = key();
    const err = await failure(
      runModelTurn(deps({ ANTHROPIC_API_KEY: "sk-ant-revoked" }), input, { key: k, purpose: "work" }),
    );
    expect([err.code, err.retryable, err.details?.class]).toEqual(["UNAUTHORIZED", false, "auth"]);
    expect([primary.calls.length, overflow.calls.length]).toEqual([1, 0]);
    expect(await cooldownOf("anthropic")).toBeUndefined();
    expect(await usageRows(k)).toEqual([]);
  });

  it("an overflow 401 while the primary cools is UNAUTHORIZED of class auth too", async () => {
    primary.queue(errorTurn("rate_limit", { retryAfter: 30 }));
    const err = await failure(
      runModelTurn(deps({ OVERFLOW_API_KEY: "sk-wrong" }), input, { key: key(), purpose: "work" }),
    );
    expect([err.code, err.retryable, err.details?.class]).toEqual(["UNAUTHORIZED", false, "auth"]);
  });

  it("5xx → a retryable UPSTREAM for Inngest's backoff: no overflow, no cooldown", async () => {
    primary.queue(errorTurn("server", { status: 500 }));
    const err = await failure(runModelTurn(deps(), input, { key: key(), purpose: "work" }));
    expect(err).toMatchObject({ code: "UPSTREAM", retryable: true, retryAfterMs: undefined });
    expect(overflow.calls).toHaveLength(0);
    expect(await cooldownOf("anthropic")).toBeUndefined();
  });

  it("a timeout → a retryable UPSTREAM", async () => {
    primary.queue(textTurn("late", { delayMs: 400 }));
    const err = await failure(
      runModelTurn(deps({}, { timeoutMs: 50 }), input, { key: key(), purpose: "work" }),
    );
    expect([err.code, err.retryable, err.message]).toEqual([
      "UPSTREAM",
      true,
      expect.stringMatching(/timed out/),
    ]);
    expect(overflow.calls).toHaveLength(0);
  });

  it("with no primary configured, turns go to overflow", async () => {
    const r = await runModelTurn(deps({ ANTHROPIC_API_KEY: "" }), input, { key: key(), purpose: "work" });
    expect(r.tier).toBe("overflow");
    expect(primary.calls).toHaveLength(0);
  });

  it("with no model configured at all, fails with CONFIG", async () => {
    const err = await failure(
      runModelTurn(deps({ ANTHROPIC_API_KEY: "", OVERFLOW_BASE_URL: "" }), input, {
        key: key(),
        purpose: "work",
      }),
    );
    expect([err.code, err.retryable]).toEqual(["CONFIG", false]);
  });
});
