// The primary tier with the real @anthropic-ai/sdk against the Anthropic fake: what goes on the wire
// (headers, system and cache breakpoints, tools, the whole translated conversation, which the fake's
// pairing checks accept), what comes back, and each failure as the DomainError the waterfall and the
// function edge act on — one HTTP call each, since the SDK never retries.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { failure } from "../../test/failure.ts";
import { type AnthropicFake, startAnthropicFake } from "../../test/fakes/anthropic.ts";
import { errorTurn, textTurn, toolTurn } from "../../test/fakes/model-script.ts";
import { conversation, conversationTools, SYSTEM } from "../../test/model-conversation.ts";
import { createAnthropicTurnClient } from "./anthropic.ts";
import { assistantMessage, type ModelTurnInput } from "./turn.ts";

let fake: AnthropicFake;
beforeAll(async () => {
  fake = await startAnthropicFake({ models: ["claude-sonnet-5-5", "claude-haiku-4-5"] });
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const client = (over: Partial<Parameters<typeof createAnthropicTurnClient>[0]> = {}) =>
  createAnthropicTurnClient({ apiKey: fake.apiKey, baseUrl: fake.url, model: "claude-sonnet-5-5", ...over });

const input: ModelTurnInput = {
  system: SYSTEM,
  messages: conversation,
  tools: conversationTools,
  maxTokens: 1024,
};

describe("createAnthropicTurnClient", () => {
  it("sends the translated conversation, tools and cached system prompt, and reads a tool_use turn", async () => {
    fake.queue(
      toolTurn(
        "crm_search",
        { object: "contacts", query: "ops" },
        { text: "One more look.", usage: { input: 900, output: 40, cacheRead: 4000, cacheWrite: 120 } },
      ),
    );
    const r = await client().turn(input);
    expect(r).toEqual({
      text: "One more look.",
      toolCalls: [
        {
          id: expect.stringMatching(/^toolu_/),
          name: "crm_search",
          input: { object: "contacts", query: "ops" },
        },
      ],
      stop: "tool_use",
      usage: { input: 900, output: 40, cacheRead: 4000, cacheWrite: 120 },
      model: "claude-sonnet-5-5",
      provider: "anthropic",
      tier: "primary",
    });
    const [req] = fake.requests;
    expect(req?.headers["anthropic-version"]).toBeTruthy();
    expect(req?.headers.authorization ?? req?.headers["x-api-key"]).toContain(fake.apiKey);
    expect(req?.body).toMatchObject({
      model: "claude-sonnet-5-5",
      max_tokens: 1024,
      system: [{ type: "text", text: SYSTEM, cache_control: { type: "ephemeral" } }],
      tools: [{ name: "crm_search" }, { name: "crm_create_property" }],
    });
    expect(req?.body.messages).toHaveLength(7);
    expect(req?.body.messages[2]?.content).toMatchObject([
      { type: "tool_result", tool_use_id: "toolu_01" },
      { type: "tool_result", tool_use_id: "toolu_02", is_error: true },
      { type: "text" },
    ]);
  });

  it("reads an end_turn text answer and a max_tokens cut, with the fake's counted usage", async () => {
    fake.queue(textTurn("All done."), textTurn("x".repeat(400)));
    const short = { system: "", messages: [{ role: "user" as const, text: "hi" }], tools: [], maxTokens: 20 };
    const done = await client().turn(short);
    expect([done.text, done.stop, done.toolCalls]).toEqual(["All done.", "end", []]);
    expect(done.usage.input).toBeGreaterThan(0);
    expect(fake.requests[0]?.body).not.toHaveProperty("tools");
    expect(fake.requests[0]?.body).not.toHaveProperty("system");
    const cut = await client().turn(short);
    expect([cut.stop, cut.text.length, cut.usage.output]).toEqual(["max_tokens", 80, 20]);
  });

  it("carries a tool result back in the next turn, accepted by the API's pairing check", async () => {
    fake.queue(toolTurn("crm_search", { object: "tickets", query: "a" }), textTurn("ok"));
    const first = await client().turn({ ...input, messages: [{ role: "user", text: "go" }] });
    const call = first.toolCalls[0];
    if (!call) throw new Error("no tool call");
    const second = await client().turn({
      ...input,
      messages: [
        { role: "user", text: "go" },
        { role: "assistant", text: first.text, toolCalls: first.toolCalls },
        { role: "tool", results: [{ toolCallId: call.id, content: "[]", isError: false }] },
      ],
    });
    expect(second.text).toBe("ok");
  });

  it("replays signed thinking to the model that wrote it, and leaves it out for another model", async () => {
    fake.queue(toolTurn("crm_search", { object: "tickets", query: "a" }, { thinking: "Search first." }));
    const first = await client().turn({ ...input, messages: [{ role: "user", text: "go" }] });
    expect(first.native?.content[0]).toMatchObject({ type: "thinking", thinking: "Search first." });
    const call = first.toolCalls[0];
    if (!call) throw new Error("no tool call");
    const messages: ModelTurnInput["messages"] = [
      { role: "user", text: "go" },
      assistantMessage(first),
      { role: "tool", results: [{ toolCallId: call.id, content: "[]", isError: false }] },
    ];
    await client().turn({ ...input, messages });
    await client({ model: "claude-haiku-4-5" }).turn({ ...input, messages });
    const [, same, other] = fake.requests.map((r) => r.body.messages[1]?.content);
    expect(same).toEqual(first.native?.content);
    expect(other).toEqual([{ type: "tool_use", id: call.id, name: "crm_search", input: call.input }]);
    // The fake refuses a block replayed to a model that did not sign it, as the API does.
    const forged = {
      ...assistantMessage(first),
      native: { provider: "anthropic", model: "claude-haiku-4-5", content: first.native?.content ?? [] },
    };
    const err = await failure(
      client({ model: "claude-haiku-4-5" }).turn({
        ...input,
        messages: [messages[0]!, forged, messages[2]!],
      }),
    );
    expect([err.code, err.message]).toEqual(["VALIDATION", expect.stringContaining("signature")]);
  });

  it("turns a 429 into RATE_LIMITED with the retry-after delay", async () => {
    fake.queue(errorTurn("rate_limit", { retryAfter: 7 }));
    const err = await failure(client().turn(input));
    expect(err).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 7000 });
    expect(err.details).toMatchObject({ status: 429, type: "rate_limit_error", class: "rate_limit" });
    expect(fake.calls).toHaveLength(1);
  });

  it("turns a 529 overloaded_error into RATE_LIMITED without a delay", async () => {
    fake.queue(errorTurn("overloaded"));
    const err = await failure(client().turn(input));
    expect(err).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: undefined });
    expect(err.details).toMatchObject({ status: 529, type: "overloaded_error", class: "overloaded" });
    expect(fake.calls).toHaveLength(1);
  });

  it("turns 401 and 403 into a non-retryable UNAUTHORIZED of class auth", async () => {
    const bad = await failure(client({ apiKey: "sk-ant-wrong" }).turn(input));
    expect([bad.code, bad.retryable, bad.details?.class, bad.details?.type]).toEqual([
      "UNAUTHORIZED",
      false,
      "auth",
      "authentication_error",
    ]);
    fake.queue(errorTurn("permission"));
    const denied = await failure(client().turn(input));
    expect([denied.code, denied.retryable, denied.details?.status]).toEqual(["UNAUTHORIZED", false, 403]);
    expect(fake.calls).toHaveLength(2);
  });

  it.each([500, 502, 503])(
    "turns a %i into a retryable UPSTREAM, left to Inngest's backoff",
    async (status) => {
      fake.queue(errorTurn("server", { status }));
      const err = await failure(client().turn(input));
      expect(err).toMatchObject({ code: "UPSTREAM", retryable: true, retryAfterMs: undefined });
      expect(err.details?.status).toBe(status);
      expect(fake.calls).toHaveLength(1);
    },
  );

  it("turns a slow answer past the timeout, and an unreachable API, into UPSTREAM", async () => {
    fake.queue(textTurn("late", { delayMs: 500 }));
    const slow = await failure(client({ timeoutMs: 50 }).turn(input));
    expect([slow.code, slow.retryable, slow.message]).toEqual([
      "UPSTREAM",
      true,
      expect.stringMatching(/timed out/),
    ]);
    const gone = await startAnthropicFake();
    await gone.close();
    const unreachable = await failure(client({ baseUrl: gone.url }).turn(input));
    expect([unreachable.code, unreachable.retryable]).toEqual(["UPSTREAM", true]);
  });

  it("turns a request the API refuses into a non-retryable VALIDATION, and an unknown model into CONFIG", async () => {
    const orphan = await failure(
      client().turn({
        ...input,
        messages: [
          { role: "user", text: "go" },
          { role: "tool", results: [{ toolCallId: "toolu_x", content: "", isError: false }] },
        ],
      }),
    );
    expect([orphan.code, orphan.retryable, orphan.message]).toEqual([
      "VALIDATION",
      false,
      expect.stringContaining("unexpected `tool_use_id`"),
    ]);
    const unknown = await failure(client({ model: "claude-nope" }).turn(input));
    expect([unknown.code, unknown.retryable]).toEqual(["CONFIG", false]);
  });

  it("tolerates a base URL that already ends in /v1", async () => {
    await client({ baseUrl: `${fake.url}/v1/` }).turn(input);
    expect(fake.calls[0]?.path).toBe("/v1/messages");
  });
});
