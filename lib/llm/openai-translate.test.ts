// Neutral ⇄ OpenAI chat completions: the conversation survives the round trip (the system prompt,
// tool calls as JSON text, tool results with their error flag), broken arguments become a parseError
// instead of a throw, and an answer reads back as a turn with cached tokens split out.
import type { ChatCompletion, ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { describe, expect, it } from "vitest";
import { conversation, conversationTools, SYSTEM } from "../../test/model-conversation.ts";
import { fromAnthropicMessages, toAnthropicMessages } from "./anthropic-translate.ts";
import {
  fromOpenAIMessages,
  fromOpenAIResponse,
  fromOpenAITools,
  toOpenAIMessages,
  toOpenAITools,
  toolCallFrom,
} from "./openai-translate.ts";

describe("neutral → openai → neutral", () => {
  it("round-trips the system prompt and every message kind, tool results and errors included", () => {
    expect(fromOpenAIMessages(toOpenAIMessages(SYSTEM, conversation))).toEqual({
      system: SYSTEM,
      messages: conversation,
    });
  });

  it("leaves out an empty assistant turn (no text, no tool call): servers refuse content null without tool_calls", () => {
    const wire = toOpenAIMessages(SYSTEM, [
      { role: "user", text: "Set up the pipeline." },
      { role: "assistant", text: "", toolCalls: [] },
      { role: "user", text: "Please continue: call a tool, or submit." },
    ]);
    expect(wire.map((m) => m.role)).toEqual(["system", "user", "user"]);
    for (const m of wire)
      if (m.role === "assistant") expect(m.content !== null || (m.tool_calls?.length ?? 0) > 0).toBe(true);
  });

  it("round-trips tool specs", () => {
    expect(fromOpenAITools(toOpenAITools(conversationTools))).toEqual(conversationTools);
  });

  it("writes one tool message per result, a failed one saying so", () => {
    const wire = toOpenAIMessages(SYSTEM, conversation);
    expect(wire.map((m) => m.role)).toEqual([
      "system",
      "user",
      "assistant",
      "tool",
      "tool",
      "user",
      "assistant",
      "tool",
      "assistant",
      "user",
    ]);
    expect(wire[2]).toEqual({
      role: "assistant",
      content: "I will look at what exists first.",
      tool_calls: [
        {
          id: "toolu_01",
          type: "function",
          function: { name: "crm_search", arguments: '{"object":"companies","query":"ACME"}' },
        },
        {
          id: "toolu_02",
          type: "function",
          function: {
            name: "crm_create_property",
            arguments: '{"object":"companies","name":"tier","label":"Tier","type":"string"}',
          },
        },
      ],
    });
    expect(wire[4]).toEqual({
      role: "tool",
      tool_call_id: "toolu_02",
      content: "Error: property tier already exists",
    });
    expect(wire[6]).toMatchObject({ role: "assistant", content: null });
    expect(toOpenAIMessages("", [{ role: "user", text: "hi" }])).toEqual([{ role: "user", content: "hi" }]);
  });

  it("sends the zod-derived JSON schema as function parameters", () => {
    expect(toOpenAITools(conversationTools)[1]).toEqual({
      type: "function",
      function: {
        name: "crm_create_property",
        description: "Create a CRM property.",
        parameters: conversationTools[1]?.inputSchema,
      },
    });
  });

  it("keeps unparseable arguments as they were, so the model sees what it sent", () => {
    const broken = [
      { role: "user" as const, text: "go" },
      {
        role: "assistant" as const,
        text: "",
        toolCalls: [toolCallFrom("call_1", "crm_search", '{"object": "tick')],
      },
    ];
    const wire = toOpenAIMessages("", broken);
    expect(wire[1]).toMatchObject({ tool_calls: [{ function: { arguments: '{"object": "tick' } }] });
    expect(fromOpenAIMessages(wire).messages).toEqual(broken);
  });
});

describe("openai → neutral → openai", () => {
  it("round-trips wire messages in the shape toOpenAIMessages writes", () => {
    const wire: ChatCompletionMessageParam[] = [
      { role: "system", content: "sys" },
      { role: "user", content: "Go." },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_a", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
      },
      { role: "tool", tool_call_id: "call_a", content: "Error: nope" },
      { role: "assistant", content: "Done." },
    ];
    const neutral = fromOpenAIMessages(wire);
    expect(neutral.messages[2]).toEqual({
      role: "tool",
      results: [{ toolCallId: "call_a", content: "nope", isError: true }],
    });
    expect(toOpenAIMessages(neutral.system, neutral.messages)).toEqual(wire);
  });
});

describe("across providers", () => {
  it("a transcript written for one provider reads the same through the other", () => {
    const viaOpenAI = fromOpenAIMessages(toOpenAIMessages(SYSTEM, conversation)).messages;
    expect(fromAnthropicMessages(toAnthropicMessages(viaOpenAI))).toEqual(conversation);
  });
});

describe("toolCallFrom", () => {
  it("parses JSON object arguments and treats empty arguments as {}", () => {
    expect(toolCallFrom("c", "f", '{"a":[1]}')).toEqual({ id: "c", name: "f", input: { a: [1] } });
    expect(toolCallFrom("c", "f", "")).toEqual({ id: "c", name: "f", input: {} });
  });

  it("turns invalid JSON and non-objects into a parseError with the raw text", () => {
    expect(toolCallFrom("c", "f", "{nope")).toMatchObject({
      input: "{nope",
      parseError: expect.stringContaining("not valid JSON"),
    });
    expect(toolCallFrom("c", "f", "[1,2]")).toMatchObject({
      input: "[1,2]",
      parseError: "the arguments are not a JSON object",
    });
  });
});

describe("fromOpenAIResponse", () => {
  const completion = (message: object, finish_reason: string, usage?: object): ChatCompletion =>
    ({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4.1-2025-04-14",
      choices: [
        {
          index: 0,
          message: { role: "assistant", refusal: null, ...message },
          logprobs: null,
          finish_reason,
        },
      ],
      usage: usage ?? {
        prompt_tokens: 1200,
        completion_tokens: 40,
        total_tokens: 1240,
        prompt_tokens_details: { cached_tokens: 1000 },
      },
    }) as unknown as ChatCompletion;

  it("reads tool calls, finish_reason and usage with cached tokens split out", () => {
    const r = fromOpenAIResponse(
      completion(
        {
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "crm_search", arguments: '{"q":"x"}' } },
          ],
        },
        "tool_calls",
      ),
      () => "unused",
    );
    expect(r).toEqual({
      text: "",
      toolCalls: [{ id: "call_1", name: "crm_search", input: { q: "x" } }],
      stop: "tool_use",
      usage: { input: 200, output: 40, cacheRead: 1000, cacheWrite: 0 },
      model: "gpt-4.1-2025-04-14",
    });
  });

  it("says tool_use when a server reports stop beside tool calls, and names id-less calls", () => {
    const r = fromOpenAIResponse(
      completion(
        { content: "", tool_calls: [{ id: "", type: "function", function: { name: "f", arguments: "{}" } }] },
        "stop",
      ),
      () => "call_generated",
    );
    expect(r?.stop).toBe("tool_use");
    expect(r?.toolCalls[0]?.id).toBe("call_generated");
  });

  it("maps length to max_tokens, and a completion without usage to zeros", () => {
    const r = fromOpenAIResponse(completion({ content: "cut" }, "length", {}), () => "x");
    expect([r?.stop, r?.text, r?.usage]).toEqual([
      "max_tokens",
      "cut",
      { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    ]);
  });

  it("returns undefined for a completion without choices", () => {
    expect(fromOpenAIResponse({ ...completion({}, "stop"), choices: [] }, () => "x")).toBeUndefined();
  });
});
