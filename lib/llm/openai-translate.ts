// Neutral turns ⇄ OpenAI chat completions (the overflow tier: any OpenAI-compatible API). The system
// prompt is the first message; tool calls carry their arguments as JSON text; each tool result is its
// own `tool` message. Chat completions have no is_error, so a failed tool's result says so in its
// first word ("Error: …"), which is also what the model reads. Pure: no SDK client, only its types.
import type {
  ChatCompletion,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from "openai/resources/chat/completions";
import {
  type ModelTurnResult,
  type NeutralMessage,
  stopFor,
  type ToolCall,
  type ToolSpec,
  type TurnStop,
} from "./turn.ts";

export const TOOL_ERROR_PREFIX = "Error: ";

/** A tool call from the wire: arguments that are not a JSON object become a parseError, not a throw. */
export function toolCallFrom(id: string, name: string, args: string): ToolCall {
  try {
    const input: unknown = JSON.parse(args === "" ? "{}" : args);
    if (typeof input === "object" && input !== null && !Array.isArray(input)) return { id, name, input };
    return { id, name, input: args, parseError: "the arguments are not a JSON object" };
  } catch (err) {
    return {
      id,
      name,
      input: args,
      parseError: `the arguments are not valid JSON: ${(err as Error).message}`,
    };
  }
}

const argumentsOf = (c: ToolCall): string =>
  c.parseError !== undefined && typeof c.input === "string" ? c.input : JSON.stringify(c.input ?? {});

export function toOpenAIMessages(
  system: string,
  messages: readonly NeutralMessage[],
): ChatCompletionMessageParam[] {
  const out: ChatCompletionMessageParam[] = system ? [{ role: "system", content: system }] : [];
  for (const m of messages) {
    if (m.role === "user") out.push({ role: "user", content: m.text });
    // An empty turn (no text, no tool call) is left out: OpenAI-compatible servers refuse an
    // assistant message whose content is null without tool_calls (a 400 that would end the run).
    else if (m.role === "assistant" && !m.text && m.toolCalls.length === 0) continue;
    else if (m.role === "assistant")
      out.push({
        role: "assistant",
        content: m.text || null,
        ...(m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: "function" as const,
                function: { name: c.name, arguments: argumentsOf(c) },
              })),
            }
          : {}),
      });
    else
      for (const r of m.results)
        out.push({
          role: "tool",
          tool_call_id: r.toolCallId,
          content: r.isError ? `${TOOL_ERROR_PREFIX}${r.content}` : r.content,
        });
  }
  return out;
}

const textOf = (content: unknown): string =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((p: { text?: unknown }) => (typeof p.text === "string" ? p.text : "")).join("")
      : "";

/** The inverse of toOpenAIMessages (used to read transcripts back and to test the translation). */
export function fromOpenAIMessages(messages: readonly ChatCompletionMessageParam[]): {
  system: string;
  messages: NeutralMessage[];
} {
  const system: string[] = [];
  const out: NeutralMessage[] = [];
  for (const m of messages) {
    const last = out.at(-1);
    if (m.role === "system" || m.role === "developer") system.push(textOf(m.content));
    else if (m.role === "user") out.push({ role: "user", text: textOf(m.content) });
    else if (m.role === "assistant") {
      const toolCalls = (m.tool_calls ?? []).flatMap((c) =>
        c.type === "function" ? [toolCallFrom(c.id, c.function.name, c.function.arguments)] : [],
      );
      out.push({ role: "assistant", text: textOf(m.content), toolCalls });
    } else if (m.role === "tool") {
      const text = textOf(m.content);
      const isError = text.startsWith(TOOL_ERROR_PREFIX);
      const result = {
        toolCallId: m.tool_call_id,
        content: isError ? text.slice(TOOL_ERROR_PREFIX.length) : text,
        isError,
      };
      if (last?.role === "tool") last.results.push(result);
      else out.push({ role: "tool", results: [result] });
    }
  }
  return { system: system.join("\n\n"), messages: out };
}

export const toOpenAITools = (tools: readonly ToolSpec[]): ChatCompletionFunctionTool[] =>
  tools.map((t) => ({
    type: "function",
    function: { name: t.name, description: t.description, parameters: t.inputSchema },
  }));

export const fromOpenAITools = (tools: readonly ChatCompletionFunctionTool[]): ToolSpec[] =>
  tools.map((t) => ({
    name: t.function.name,
    description: t.function.description ?? "",
    inputSchema: { ...t.function.parameters },
  }));

const STOPS: Record<string, TurnStop> = {
  tool_calls: "tool_use",
  function_call: "tool_use",
  length: "max_tokens",
};

/**
 * The answer as a neutral result, less the provider and tier the adapter adds. `newId` names a tool
 * call the server left without an id (some OpenAI-compatible servers do).
 */
export function fromOpenAIResponse(
  completion: ChatCompletion,
  newId: () => string,
): Omit<ModelTurnResult, "provider" | "tier"> | undefined {
  const choice = completion.choices[0];
  if (!choice) return undefined;
  const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) =>
    c.type === "function" ? [toolCallFrom(c.id || newId(), c.function.name, c.function.arguments)] : [],
  );
  const prompt = completion.usage?.prompt_tokens ?? 0;
  const cached = completion.usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    text: choice.message.content ?? "",
    toolCalls,
    stop: stopFor(STOPS[choice.finish_reason] ?? "end", toolCalls),
    usage: {
      input: Math.max(0, prompt - cached),
      output: completion.usage?.completion_tokens ?? 0,
      cacheRead: cached,
      cacheWrite: 0,
    },
    model: completion.model,
  };
}
