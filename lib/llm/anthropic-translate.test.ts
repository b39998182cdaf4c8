// Neutral ⇄ Anthropic: the conversation survives the round trip (tool results and their is_error
// included), the wire shape is what the Messages API wants, and an answer reads back as a turn.
import type { Message, MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { describe, expect, it } from "vitest";
import { conversation, conversationTools, SYSTEM } from "../../test/model-conversation.ts";
import {
  anthropicToolId,
  fromAnthropicMessages,
  fromAnthropicResponse,
  fromAnthropicTools,
  toAnthropicMessages,
  toAnthropicTools,
  withCacheBreakpoints,
} from "./anthropic-translate.ts";

const TARGET = { provider: "anthropic", model: "claude-sonnet-4-5" };

describe("neutral → anthropic → neutral", () => {
  it("round-trips every message kind, tool results and errors included", () => {
    expect(fromAnthropicMessages(toAnthropicMessages(conversation))).toEqual(conversation);
  });

  it("round-trips tool specs", () => {
    expect(fromAnthropicTools(toAnthropicTools(conversationTools))).toEqual(conversationTools);
  });

  it("puts tool results and a following note in one user message, results first", () => {
    const wire = toAnthropicMessages(conversation);
    expect(wire.map((m) => m.role)).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
      "assistant",
      "user",
    ]);
    expect(wire[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "toolu_01", content: '{"results":[{"id":"101","name":"ACME"}]}' },
        {
          type: "tool_result",
          tool_use_id: "toolu_02",
          content: "property tier already exists",
          is_error: true,
        },
        { type: "text", text: "Note from a person: keep the existing tier property." },
      ],
    });
    // A tool-only assistant turn has no empty text block (the API refuses those).
    expect(wire[3]?.content).toEqual([
      {
        type: "tool_use",
        id: "toolu_03",
        name: "crm_search",
        input: { object: "tickets", query: "onboarding" },
      },
    ]);
  });

  it("sends the zod-derived JSON schema as input_schema", () => {
    expect(toAnthropicTools(conversationTools)[0]).toEqual({
      name: "crm_search",
      description: "Search CRM objects by a free-text query.",
      input_schema: {
        type: "object",
        properties: {
          object: { type: "string", enum: ["contacts", "companies", "tickets"] },
          query: { type: "string", minLength: 1 },
        },
        required: ["object", "query"],
        additionalProperties: false,
      },
    });
  });
});

describe("anthropic → neutral → anthropic", () => {
  it("round-trips wire messages in the shape toAnthropicMessages writes", () => {
    const wire: MessageParam[] = [
      { role: "user", content: [{ type: "text", text: "Go." }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_9", name: "crm_search", input: { object: "tickets", query: "x" } },
        ],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "toolu_9", content: "boom", is_error: true }],
      },
    ];
    expect(toAnthropicMessages(fromAnthropicMessages(wire))).toEqual(wire);
  });

  it("reads string content and text-block tool results", () => {
    expect(
      fromAnthropicMessages([
        { role: "user", content: "plain" },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "a", input: {} }] },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "ok" }] }],
        },
      ]),
    ).toEqual([
      { role: "user", text: "plain" },
      { role: "assistant", text: "", toolCalls: [{ id: "t1", name: "a", input: {} }] },
      { role: "tool", results: [{ toolCallId: "t1", content: "ok", isError: false }] },
    ]);
  });
});

describe("ids, arguments and cache breakpoints", () => {
  it("rewrites tool ids Anthropic refuses, the same way on the call and its result", () => {
    expect(anthropicToolId("functions.crm_search:0")).toBe("functions_crm_search_0");
    const wire = toAnthropicMessages([
      { role: "user", text: "go" },
      { role: "assistant", text: "", toolCalls: [{ id: "fn.a:1", name: "a", input: {} }] },
      { role: "tool", results: [{ toolCallId: "fn.a:1", content: "ok", isError: false }] },
    ]);
    expect(wire[1]?.content).toMatchObject([{ id: "fn_a_1" }]);
    expect(wire[2]?.content).toMatchObject([{ tool_use_id: "fn_a_1" }]);
  });

  it("sends unparseable overflow arguments back as an empty object", () => {
    const wire = toAnthropicMessages([
      { role: "user", text: "go" },
      {
        role: "assistant",
        text: "",
        toolCalls: [{ id: "c1", name: "a", input: "{oops", parseError: "bad" }],
      },
    ]);
    expect(wire[1]?.content).toEqual([{ type: "tool_use", id: "c1", name: "a", input: {} }]);
  });

  it("marks the system prompt and the newest block as cache breakpoints without touching the input", () => {
    const messages = toAnthropicMessages(conversation);
    const before = JSON.stringify(messages);
    const marked = withCacheBreakpoints(SYSTEM, messages);
    expect(marked.system).toEqual([{ type: "text", text: SYSTEM, cache_control: { type: "ephemeral" } }]);
    expect(marked.messages.at(-1)?.content).toEqual([
      { type: "text", text: "Submit when ready.", cache_control: { type: "ephemeral" } },
    ]);
    expect(marked.messages.slice(0, -1)).toEqual(messages.slice(0, -1));
    expect(JSON.stringify(messages)).toBe(before);
    expect(fromAnthropicMessages(marked.messages)).toEqual(conversation);
  });
});

describe("fromAnthropicResponse", () => {
  const message = (over: Partial<Message>): Message =>
    ({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 120,
        output_tokens: 30,
        cache_read_input_tokens: 1000,
        cache_creation_input_tokens: 50,
      },
      ...over,
    }) as Message;

  it("reads text, tool calls, the stop reason and every usage count", () => {
    const r = fromAnthropicResponse(
      message({
        content: [
          { type: "text", text: "Creating it.", citations: null },
          {
            type: "tool_use",
            id: "toolu_x",
            name: "crm_search",
            input: { q: 1 },
            caller: { type: "direct" },
          },
        ],
        stop_reason: "tool_use",
      }),
      TARGET,
    );
    expect(r).toEqual({
      text: "Creating it.",
      toolCalls: [{ id: "toolu_x", name: "crm_search", input: { q: 1 } }],
      stop: "tool_use",
      usage: { input: 120, output: 30, cacheRead: 1000, cacheWrite: 50 },
      model: "claude-sonnet-4-5",
    });
    // The neutral form of the answer is the assistant message that goes back into the transcript.
    const next = toAnthropicMessages([{ role: "assistant", text: r.text, toolCalls: r.toolCalls }]);
    expect(next[0]?.content).toEqual([
      { type: "text", text: "Creating it." },
      { type: "tool_use", id: "toolu_x", name: "crm_search", input: { q: 1 } },
    ]);
  });

  it.each([
    ["end_turn", "end"],
    ["stop_sequence", "end"],
    ["max_tokens", "max_tokens"],
    ["model_context_window_exceeded", "context_window"],
    ["refusal", "end"],
  ] as const)("maps stop_reason %s to %s", (stop_reason, stop) => {
    expect(fromAnthropicResponse(message({ stop_reason }), TARGET).stop).toBe(stop);
  });

  it("counts missing cache fields as zero", () => {
    const r = fromAnthropicResponse(
      message({ usage: { input_tokens: 5, output_tokens: 1 } as unknown as Message["usage"] }),
      TARGET,
    );
    expect(r.usage).toEqual({ input: 5, output: 1, cacheRead: 0, cacheWrite: 0 });
  });
});

describe("thinking blocks (NativeTurn)", () => {
  const content = [
    { type: "thinking", thinking: "Check the tier first.", signature: "sig-abc" },
    { type: "text", text: "Looking.", citations: null },
    { type: "tool_use", id: "toolu_t", name: "crm_search", input: { q: 1 }, caller: { type: "direct" } },
  ];
  const answer = {
    id: "msg_t",
    type: "message",
    role: "assistant",
    model: "claude-sonnet-4-5-20250929",
    content,
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: { input_tokens: 1, output_tokens: 1 },
  } as unknown as Message;

  it("keeps an answer with thinking whole, keyed by the model that was asked", () => {
    const r = fromAnthropicResponse(answer, TARGET);
    expect(r.native).toEqual({ provider: "anthropic", model: "claude-sonnet-4-5", content });
    expect([r.text, r.toolCalls]).toEqual([
      "Looking.",
      [{ id: "toolu_t", name: "crm_search", input: { q: 1 } }],
    ]);
    expect(
      fromAnthropicResponse({ ...answer, content: content.slice(1) } as Message, TARGET).native,
    ).toBeUndefined();
  });

  it("sends it back verbatim to that model, and in the neutral form to any other", () => {
    const r = fromAnthropicResponse(answer, TARGET);
    const transcript = [
      { role: "user" as const, text: "go" },
      {
        role: "assistant" as const,
        text: r.text,
        toolCalls: r.toolCalls,
        ...(r.native ? { native: r.native } : {}),
      },
    ];
    expect(toAnthropicMessages(transcript, TARGET)[1]?.content).toEqual(content);
    const other = toAnthropicMessages(transcript, { provider: "anthropic", model: "claude-haiku-4-5" });
    expect(other[1]?.content).toEqual([
      { type: "text", text: "Looking." },
      { type: "tool_use", id: "toolu_t", name: "crm_search", input: { q: 1 } },
    ]);
    expect(toAnthropicMessages(transcript)[1]?.content).toEqual(other[1]?.content);
  });
});

describe("a turn that said nothing", () => {
  it("is left out of the request (Anthropic refuses empty content before the last message), so the nudge can follow", () => {
    const out = toAnthropicMessages([
      { role: "user", text: "Do the task." },
      { role: "assistant", text: "", toolCalls: [] },
      { role: "user", text: "Call submit or block." },
      { role: "assistant", text: "  \n", toolCalls: [] },
      { role: "user", text: "Call submit or block, please." },
    ]);
    expect(out).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "Do the task." },
          { type: "text", text: "Call submit or block." },
          { type: "text", text: "Call submit or block, please." },
        ],
      },
    ]);
    for (const m of out) expect((m.content as unknown[]).length).toBeGreaterThan(0);
  });
});
