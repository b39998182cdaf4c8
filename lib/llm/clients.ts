// The worker model tiers from config: primary (Anthropic) when ANTHROPIC_API_KEY is set, overflow
// (OpenAI-compatible) when OVERFLOW_BASE_URL is set. createDeps puts the result on Deps as `models`.
import type { Config } from "../config.ts";
import { createAnthropicTurnClient } from "./anthropic.ts";
import { createOpenAITurnClient } from "./overflow.ts";
import type { ModelClient } from "./turn.ts";

export interface ModelClients {
  primary: ModelClient | undefined;
  overflow: ModelClient | undefined;
}

type ModelConfig = Pick<
  Config,
  | "ANTHROPIC_API_KEY"
  | "ANTHROPIC_BASE_URL"
  | "ANTHROPIC_MODEL"
  | "OVERFLOW_BASE_URL"
  | "OVERFLOW_API_KEY"
  | "OVERFLOW_MODEL"
>;

export interface ModelClientOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createModelClients(config: ModelConfig, opts: ModelClientOptions = {}): ModelClients {
  return {
    primary: config.ANTHROPIC_API_KEY
      ? createAnthropicTurnClient({
          apiKey: config.ANTHROPIC_API_KEY,
          baseUrl: config.ANTHROPIC_BASE_URL,
          model: config.ANTHROPIC_MODEL,
          ...opts,
        })
      : undefined,
    overflow: config.OVERFLOW_BASE_URL
      ? createOpenAITurnClient({
          baseUrl: config.OVERFLOW_BASE_URL,
          // A self-hosted server may want no key; the SDK insists on one, and such servers ignore it.
          apiKey: config.OVERFLOW_API_KEY ?? "none",
          model: config.OVERFLOW_MODEL,
          ...opts,
        })
      : undefined,
  };
}
