// Neutral turns ⇄ the Anthropic Messages API. Tool results travel in a user message as tool_result
// blocks (is_error kept), so consecutive neutral user/tool messages merge into one user message, and
// split back into runs on the way in. Thinking blocks have no neutral form: an answer that has them
// is kept whole (NativeTurn) and replayed only to the model that wrote it. Pure: SDK types only.
import type {
  ContentBlockParam,
  Message,
  MessageParam,
  StopReason,
  TextBlockParam,
  Tool,
} from "@anthropic-ai/sdk/resources/messages";
import {
  type ModelTurnResult,
  type NeutralMessage,
  stopFor,
  type ToolCall,
  type ToolSpec,
  type TurnStop,
} from "./turn.ts";

/** Anthropic accepts tool_use ids matching ^[a-zA-Z0-9_-]+$; overflow providers may use others. */
export const anthropicToolId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, "_") || "tool";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** The model a request goes to: an assistant turn it wrote itself is sent back verbatim. */
export interface AnthropicTarget {
  provider: string;
  model: string;
}

function blocksOf(
  m: NeutralMessage,
  target: AnthropicTarget | undefined,
): { role: "user" | "assistant"; content: ContentBlockParam[] } {
  switch (m.role) {
    case "user":
      return { role: "user", content: [{ type: "text", text: m.text }] };
    case "assistant":
      if (m.native && target && m.native.provider === target.provider && m.native.model === target.model)
        return { role: "assistant", content: [...m.native.content] as ContentBlockParam[] };
      return {
        role: "assistant",
        content: [
          // Anthropic refuses an empty or whitespace-only text block.
          ...(m.text?.trim() ? [{ type: "text" as const, text: m.text }] : []),
          ...m.toolCalls.map((c) => ({
            type: "tool_use" as const,
            id: anthropicToolId(c.id),
            name: c.name,
            // Anthropic wants an object; unparseable arguments (from an overflow turn) go back empty.
            input: isObject(c.input) ? c.input : {},
          })),
        ],
      };
    case "tool":
      return {
        role: "user",
        content: m.results.map((r) => ({
          type: "tool_result" as const,
          tool_use_id: anthropicToolId(r.toolCallId),
          content: r.content,
          ...(r.isError ? { is_error: true } : {}),
        })),
      };
  }
}

/**
 * The transcript as Messages API messages. With a target, assistant turns that model wrote keep their
 * native content (thinking blocks and signatures); without one, or for another model, the neutral form.
 */
export function toAnthropicMessages(
  messages: readonly NeutralMessage[],
  target?: AnthropicTarget,
): MessageParam[] {
  const out: { role: "user" | "assistant"; content: ContentBlockParam[] }[] = [];
  for (const m of messages) {
    const next = blocksOf(m, target);
    // A turn that said nothing (Claude may end a turn with no content; the loop nudges it) has no
    // form the API accepts anywhere but last: it is left out, and the nudge follows the tool results.
    if (next.content.length === 0) continue;
    const last = out.at(-1);
    if (last && last.role === next.role) last.content.push(...next.content);
    else out.push(next);
  }
  return out;
}

/**
 * Marks the system prompt and the newest message as prompt-cache breakpoints: each turn of the loop
 * re-reads the previous turn's prefix (tools, system, dossier, transcript) at the cache-read price.
 */
export function withCacheBreakpoints(
  system: string,
  messages: MessageParam[],
): { system: TextBlockParam[]; messages: MessageParam[] } {
  const ephemeral = { type: "ephemeral" } as const;
  const last = messages.at(-1);
  const blocks = last && Array.isArray(last.content) ? last.content : undefined;
  const tail = blocks?.at(-1);
  const marked =
    last && blocks && tail
      ? [
          ...messages.slice(0, -1),
          { ...last, content: [...blocks.slice(0, -1), { ...tail, cache_control: ephemeral }] },
        ]
      : messages;
  return {
    system: system ? [{ type: "text", text: system, cache_control: ephemeral }] : [],
    messages: marked as MessageParam[],
  };
}

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content
          .filter((b): b is { type: "text"; text: string } => isObject(b) && b.type === "text")
          .map((b) => b.text)
          .join("\n\n")
      : "";

/** The inverse of toAnthropicMessages (used to read transcripts back and to test the translation). */
export function fromAnthropicMessages(messages: readonly MessageParam[]): NeutralMessage[] {
  const out: NeutralMessage[] = [];
  for (const m of messages) {
    if (m.role === "system") continue;
    const blocks: ContentBlockParam[] =
      typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (m.role === "assistant") {
      const toolCalls: ToolCall[] = blocks.flatMap((b) =>
        b.type === "tool_use" ? [{ id: b.id, name: b.name, input: b.input }] : [],
      );
      out.push({ role: "assistant", text: textOf(blocks), toolCalls });
      continue;
    }
    for (const b of blocks) {
      const last = out.at(-1);
      if (b.type === "tool_result") {
        const result = {
          toolCallId: b.tool_use_id,
          content: textOf(b.content),
          isError: b.is_error === true,
        };
        if (last?.role === "tool") last.results.push(result);
        else out.push({ role: "tool", results: [result] });
      } else if (b.type === "text") {
        out.push({ role: "user", text: b.text });
      }
    }
  }
  return out;
}

export const toAnthropicTools = (tools: readonly ToolSpec[]): Tool[] =>
  tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: { ...t.inputSchema, type: "object" },
  }));

export const fromAnthropicTools = (tools: readonly Tool[]): ToolSpec[] =>
  tools.map((t) => ({
    name: t.name,
    description: t.description ?? "",
    inputSchema: { ...t.input_schema },
  }));

const STOPS: Partial<Record<StopReason, TurnStop>> = {
  tool_use: "tool_use",
  max_tokens: "max_tokens",
  model_context_window_exceeded: "context_window",
};

const NATIVE_ONLY = new Set(["thinking", "redacted_thinking"]);

/**
 * The answer as a neutral result, less the provider and tier the adapter adds. An answer with
 * thinking blocks keeps its whole content as `native`, to be sent back to `target` unchanged.
 */
export function fromAnthropicResponse(
  msg: Message,
  target: AnthropicTarget,
): Omit<ModelTurnResult, "provider" | "tier"> {
  const toolCalls: ToolCall[] = msg.content.flatMap((b) =>
    b.type === "tool_use" ? [{ id: b.id, name: b.name, input: b.input }] : [],
  );
  const text = msg.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n\n");
  const u = msg.usage;
  return {
    text,
    toolCalls,
    stop: stopFor((msg.stop_reason && STOPS[msg.stop_reason]) ?? "end", toolCalls),
    usage: {
      input: u.input_tokens,
      output: u.output_tokens,
      cacheRead: u.cache_read_input_tokens ?? 0,
      cacheWrite: u.cache_creation_input_tokens ?? 0,
    },
    model: msg.model,
    ...(msg.content.some((b) => NATIVE_ONLY.has(b.type))
      ? // Keyed by the model asked for: an alias answers with a dated name, and is asked again by alias.
        { native: { provider: target.provider, model: target.model, content: msg.content } }
      : {}),
  };
}
