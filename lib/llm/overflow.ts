// The overflow tier (DESIGN §6): the same neutral turn on any OpenAI-compatible chat-completions API,
// used while the primary is rate-limited or overloaded. openai SDK with maxRetries 0, like every tier.
// `max_tokens` rather than `max_completion_tokens`: it is the one every compatible server accepts.
import OpenAI, { APIError } from "openai";
import { DomainError } from "../errors.ts";
import { fromOpenAIError, retryAfterMs } from "./errors.ts";
import { fromOpenAIResponse, toOpenAIMessages, toOpenAITools } from "./openai-translate.ts";
import type { ModelClient, ModelTurnInput, ModelTurnResult, Tier } from "./turn.ts";

export interface OpenAITurnOptions {
  /** The API's base URL as its provider documents it, usually ending in /v1. */
  baseUrl: string;
  apiKey: string;
  model: string;
  /** Default "overflow"; the same adapter serves the local tier through the GPU bridge. */
  tier?: Tier;
  /** Names the provider in cooldowns and metering (default: the base URL's host). */
  provider?: string;
  /** Per call (default 10 minutes). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export function createOpenAITurnClient(opts: OpenAITurnOptions): ModelClient {
  const client = new OpenAI({
    baseURL: opts.baseUrl.replace(/\/+$/, ""),
    apiKey: opts.apiKey,
    maxRetries: 0,
    timeout: opts.timeoutMs ?? 600_000,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const tier = opts.tier ?? "overflow";
  const provider = opts.provider ?? new URL(opts.baseUrl).host;
  const what = `The ${tier} model (${provider})`;

  async function turn(input: ModelTurnInput): Promise<ModelTurnResult> {
    let completion: OpenAI.ChatCompletion;
    try {
      completion = await client.chat.completions.create({
        model: opts.model,
        messages: toOpenAIMessages(input.system, input.messages),
        max_tokens: input.maxTokens,
        ...(input.tools.length > 0 ? { tools: toOpenAITools(input.tools) } : {}),
      });
    } catch (err) {
      // 529 is Anthropic's "overloaded"; a gateway in front of an OpenAI-compatible API may pass it on.
      if (err instanceof APIError && err.status === 529)
        throw new DomainError("RATE_LIMITED", `${what} is overloaded: ${err.message}`, {
          cause: err,
          details: { status: 529, class: "overloaded" },
          retryAfterMs: retryAfterMs(err.headers),
        });
      throw fromOpenAIError(err, what);
    }
    const result = fromOpenAIResponse(completion, () => `call_${crypto.randomUUID().replaceAll("-", "")}`);
    if (!result)
      throw new DomainError("UPSTREAM", `${what} returned a completion without choices`, {
        details: { id: completion.id },
      });
    return { ...result, provider, tier };
  }

  return { provider, tier, model: opts.model, turn };
}
