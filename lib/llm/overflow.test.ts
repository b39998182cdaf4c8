// The overflow tier with the real openai SDK against the chat-completions fake: the translated
// conversation and tools on the wire (accepted by the fake's tool_call pairing check), tool calls and
// usage back, broken argument JSON as a parseError, and each failure as a DomainError, one call each.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { failure } from "../../test/failure.ts";
import { errorTurn, textTurn, toolTurn } from "../../test/fakes/model-script.ts";
import { type OpenAIChatFake, startOpenAIChatFake } from "../../test/fakes/openai-chat.ts";
import { conversation, conversationTools, SYSTEM } from "../../test/model-conversation.ts";
import { toOpenAIMessages, toOpenAITools } from "./openai-translate.ts";
import { createOpenAITurnClient } from "./overflow.ts";
import type { ModelTurnInput } from "./turn.ts";

let fake: OpenAIChatFake;
beforeAll(async () => {
  fake = await startOpenAIChatFake({ models: ["gpt-4.1"] });
});
afterAll(() => fake.close());
afterEach(() => fake.reset());

const client = (over: Partial<Parameters<typeof createOpenAITurnClient>[0]> = {}) =>
  createOpenAITurnClient({ apiKey: fake.apiKey, baseUrl: fake.baseUrl, model: "gpt-4.1", ...over });

const input: ModelTurnInput = {
  system: SYSTEM,
  messages: conversation,
  tools: conversationTools,
  maxTokens: 512,
};

describe("createOpenAITurnClient", () => {
  it("sends the translated conversation and tools, and reads a tool_calls turn with cached usage", async () => {
    fake.queue(
      toolTurn(
        "crm_search",
        { object: "tickets", query: "x" },
        { usage: { input: 300, output: 12, cacheRead: 700 } },
      ),
    );
    const r = await client().turn(input);
    expect(r).toEqual({
      text: "",
      toolCalls: [
        { id: expect.stringMatching(/^call_/), name: "crm_search", input: { object: "tickets", query: "x" } },
      ],
      stop: "tool_use",
      usage: { input: 300, output: 12, cacheRead: 700, cacheWrite: 0 },
      model: "gpt-4.1",
      provider: new URL(fake.url).host,
      tier: "overflow",
    });
    const [req] = fake.requests;
    expect(req?.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(req?.body).toMatchObject({ model: "gpt-4.1", max_tokens: 512 });
    expect(req?.body.messages).toEqual(JSON.parse(JSON.stringify(toOpenAIMessages(SYSTEM, conversation))));
    expect(req?.body.tools).toEqual(JSON.parse(JSON.stringify(toOpenAITools(conversationTools))));
  });

  it("reads a text answer and a length cut", async () => {
    fake.queue(textTurn("Done here."), textTurn("y".repeat(200)));
    const short = { system: "", messages: [{ role: "user" as const, text: "hi" }], tools: [], maxTokens: 10 };
    const done = await client().turn(short);
    expect([done.text, done.stop]).toEqual(["Done here.", "end"]);
    expect(fake.requests[0]?.body).not.toHaveProperty("tools");
    const cut = await client().turn(short);
    expect([cut.stop, cut.text.length]).toEqual(["max_tokens", 40]);
  });

  it("returns arguments that are not JSON as a parseError, never a throw", async () => {
    fake.queue({ toolUse: [{ name: "crm_search", rawArguments: '{"object": "tick' }] });
    const r = await client().turn(input);
    expect(r.toolCalls[0]).toMatchObject({
      name: "crm_search",
      input: '{"object": "tick',
      parseError: expect.any(String),
    });
  });

  it("turns a 429 into RATE_LIMITED with its delay, and a 529 from a gateway likewise", async () => {
    fake.queue(errorTurn("rate_limit", { retryAfter: 3 }), errorTurn("rate_limit", { status: 529 }));
    expect(await failure(client().turn(input))).toMatchObject({ code: "RATE_LIMITED", retryAfterMs: 3000 });
    const overloaded = await failure(client().turn(input));
    expect([overloaded.code, overloaded.details?.class]).toEqual(["RATE_LIMITED", "overloaded"]);
    expect(fake.calls).toHaveLength(2);
  });

  it("turns 401 into a non-retryable UNAUTHORIZED of class auth", async () => {
    const err = await failure(client({ apiKey: "sk-wrong" }).turn(input));
    expect([err.code, err.retryable, err.details?.class]).toEqual(["UNAUTHORIZED", false, "auth"]);
  });

  it("turns a 500 and a timeout into UPSTREAM, and a refused request into VALIDATION", async () => {
    fake.queue(errorTurn("server"), textTurn("late", { delayMs: 500 }));
    expect(await failure(client().turn(input))).toMatchObject({ code: "UPSTREAM", retryable: true });
    const slow = await failure(client({ timeoutMs: 50 }).turn(input));
    expect([slow.code, slow.message]).toEqual(["UPSTREAM", expect.stringMatching(/timed out/i)]);
    const orphan = await failure(
      client().turn({
        ...input,
        messages: [
          { role: "user", text: "go" },
          { role: "tool", results: [{ toolCallId: "call_x", content: "", isError: false }] },
        ],
      }),
    );
    expect([orphan.code, orphan.retryable]).toEqual(["VALIDATION", false]);
  });

  it("serves the local tier too, under its own provider name", async () => {
    const local = createOpenAITurnClient({
      apiKey: fake.apiKey,
      baseUrl: fake.baseUrl,
      model: "gpt-4.1",
      tier: "local",
      provider: "bridge",
    });
    const r = await local.turn({ ...input, tools: [] });
    expect([r.tier, r.provider]).toEqual(["local", "bridge"]);
  });
});
