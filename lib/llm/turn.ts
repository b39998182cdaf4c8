// The provider-neutral model turn (DESIGN §6): what the agent loop sends and gets back, whichever tier
// answers. The adapters (anthropic.ts, overflow.ts) translate to and from each provider's wire format;
// the loop, its transcript and the dossier only ever see these types.
import { z } from "zod";

export type Tier = "primary" | "overflow" | "local";

export interface ToolCall {
  id: string;
  name: string;
  /** The arguments as the model gave them; the caller validates them against the tool's zod schema. */
  input: unknown;
  /**
   * Set when the model's arguments were not valid JSON (`input` is then the raw text): the loop answers
   * with an error tool result instead of running the tool.
   */
  parseError?: string;
}

export interface ToolResult {
  toolCallId: string;
  content: string;
  isError: boolean;
}

/**
 * An assistant turn exactly as its provider returned it, kept when the neutral form would lose
 * something the provider needs back: Anthropic's signed thinking blocks must be returned unchanged,
 * and only to the model that wrote them. Any other provider or model gets the neutral form instead.
 */
export interface NativeTurn {
  provider: string;
  model: string;
  content: unknown[];
}

export type NeutralMessage =
  | { role: "user"; text: string }
  | { role: "assistant"; text: string; toolCalls: ToolCall[]; native?: NativeTurn }
  | { role: "tool"; results: ToolResult[] };

export interface ToolSpec {
  name: string;
  description: string;
  /** A JSON Schema object (see toolSpec, which derives it from zod). */
  inputSchema: Record<string, unknown>;
}

export interface ModelTurnInput {
  system: string;
  messages: NeutralMessage[];
  tools: ToolSpec[];
  maxTokens: number;
}

/**
 * Tokens as billed: `input` is what is charged at the input rate, so it excludes cache reads and writes
 * (Anthropic reports it that way; OpenAI's prompt_tokens include cached tokens, which are subtracted).
 */
export interface TurnUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/**
 * Why an answer ended. `max_tokens`: cut at the turn's output limit (a shorter answer fits);
 * `context_window`: the conversation filled the model's context (no answer of this run will fit).
 */
export type TurnStop = "end" | "tool_use" | "max_tokens" | "context_window";

export interface ModelTurnResult {
  text: string;
  toolCalls: ToolCall[];
  stop: TurnStop;
  usage: TurnUsage;
  provider: string;
  /** The model that answered, as the provider names it. */
  model: string;
  tier: Tier;
  /** Set when the answer carries blocks the neutral form drops (see NativeTurn). */
  native?: NativeTurn;
}

/** One provider behind one tier. `turn` throws DomainErrors only (see anthropic-errors.ts, errors.ts). */
export interface ModelClient {
  /** Names the provider in provider_cooldowns and token_usage. */
  readonly provider: string;
  readonly tier: Tier;
  readonly model: string;
  turn(input: ModelTurnInput): Promise<ModelTurnResult>;
}

/** A tool's spec from its zod schema; `$schema` is dropped (providers do not want it). */
export function toolSpec(name: string, description: string, schema: z.ZodType): ToolSpec {
  const { $schema: _, ...inputSchema } = z.toJSONSchema(schema) as Record<string, unknown>;
  return { name, description, inputSchema };
}

/** A tool call's stop wins over the provider's label: some OpenAI-compatible servers say "stop". */
export const stopFor = (stop: TurnStop, toolCalls: readonly ToolCall[]): TurnStop =>
  toolCalls.length > 0 && stop === "end" ? "tool_use" : stop;

/** The transcript entry for an answer: what the next turn sends back as the assistant's message. */
export const assistantMessage = (r: ModelTurnResult): NeutralMessage => ({
  role: "assistant",
  text: r.text,
  toolCalls: r.toolCalls,
  ...(r.native ? { native: r.native } : {}),
});
