// The primary tier (DESIGN §6): workers' turns on the Anthropic Messages API with tool use, through
// @anthropic-ai/sdk with maxRetries 0 — Inngest owns retrying, and a 429/529 must reach the waterfall
// at once so the same turn can run on overflow. Every option the SDK would otherwise take from
// process.env (key, base URL, log level, telemetry) is passed explicitly: config is read in one place.
import Anthropic from "@anthropic-ai/sdk";
import type { Message } from "@anthropic-ai/sdk/resources/messages";
import { fromAnthropicError } from "./anthropic-errors.ts";
import {
  fromAnthropicResponse,
  toAnthropicMessages,
  toAnthropicTools,
  withCacheBreakpoints,
} from "./anthropic-translate.ts";
import type { ModelClient, ModelTurnInput, ModelTurnResult } from "./turn.ts";

export interface AnthropicTurnOptions {
  apiKey: string;
  /** The API origin (the SDK adds /v1/messages); a trailing /v1 is tolerated. */
  baseUrl: string;
  model: string;
  /** Names the provider in cooldowns and metering (default "anthropic"). */
  provider?: string;
  /** Per call (default 10 minutes, the SDK's own ceiling for a non-streaming request). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const WHAT = "The primary model (Anthropic)";

const origin = (url: string) => url.replace(/\/+$/, "").replace(/\/v1$/, "");

export function createAnthropicTurnClient(opts: AnthropicTurnOptions): ModelClient {
  const client = new Anthropic({
    apiKey: opts.apiKey,
    baseURL: origin(opts.baseUrl),
    maxRetries: 0,
    timeout: opts.timeoutMs ?? 600_000,
    logLevel: "warn",
    openTelemetry: false,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const provider = opts.provider ?? "anthropic";

  async function turn(input: ModelTurnInput): Promise<ModelTurnResult> {
    const target = { provider, model: opts.model };
    const { system, messages } = withCacheBreakpoints(
      input.system,
      toAnthropicMessages(input.messages, target),
    );
    let msg: Message;
    try {
      msg = await client.messages.create({
        model: opts.model,
        max_tokens: input.maxTokens,
        messages,
        ...(system.length > 0 ? { system } : {}),
        ...(input.tools.length > 0 ? { tools: toAnthropicTools(input.tools) } : {}),
      });
    } catch (err) {
      throw fromAnthropicError(err, WHAT);
    }
    return { ...fromAnthropicResponse(msg, target), provider, tier: "primary" };
  }

  return { provider, tier: "primary", model: opts.model, turn };
}
