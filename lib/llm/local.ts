// The local model tier (DESIGN §6): reviewer, router/classifier and digest calls, answered by a
// self-hosted open-weights model behind the GPU bridge. Built on the openai SDK with maxRetries 0 —
// Inngest owns retrying, and the bridge's 503 + Retry-After must reach it, not be absorbed here.
// Structured output is asked for with a JSON schema derived from the caller's zod schema, and the
// answer is validated with that same schema; every failure is a DomainError (see errors.ts).
import OpenAI from "openai";
import { z } from "zod";
import { DomainError, isDomainError } from "../errors.ts";
import { fromOpenAIError } from "./errors.ts";

export interface LocalModelOptions {
  /** The bridge's base URL, with or without the trailing /v1. */
  baseUrl: string;
  token: string;
  model: string;
  fetch?: typeof fetch;
  /** Per call, including time queued in the bridge (default 120 s). */
  timeoutMs?: number;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface JsonOutput<T> {
  /** Names the schema for the server (OpenAI requires it; vLLM ignores it). */
  name: string;
  schema: z.ZodType<T>;
}

export interface ChatInput {
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
}

export interface Usage {
  input: number;
  output: number;
}

export interface ChatResult<J> {
  text: string;
  json: J;
  usage: Usage;
  /** The model that answered, as the server names it. */
  model: string;
}

export interface LocalModel {
  readonly model: string;
  // The schema overload comes first so a non-literal input that carries a schema still gets `json: T`.
  chat<T>(input: ChatInput & { jsonSchema: JsonOutput<T> }): Promise<ChatResult<T>>;
  chat(input: ChatInput): Promise<ChatResult<undefined>>;
}

const WHAT = "The local model (GPU bridge)";

const v1 = (url: string) => `${url.replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`;

/** The zod schema as JSON Schema for the server; `$schema` is dropped (some servers refuse it). */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** What an answered call cost: metered whether or not its output could be used. */
export interface Spent {
  model: string;
  usage: { input: number; output: number };
}

function malformed(message: string, text: string, spent?: Spent, cause?: unknown): DomainError {
  return new DomainError("VALIDATION", `${WHAT} returned malformed output: ${message}`, {
    details: { output: text.slice(0, 500), ...(spent ? { spent } : {}) },
    cause,
  });
}

/**
 * The tokens a failed call was billed for, when it got an answer: a malformed answer (the model ran,
 * the GPU's time is spent) carries them, so its caller meters them like any other.
 */
export function spentOf(err: unknown): Spent | undefined {
  if (!isDomainError(err)) return undefined;
  const spent = err.details?.spent as Spent | undefined;
  return spent && typeof spent.model === "string" ? spent : undefined;
}

/** Adds `more` to a running total (kept in place: callers hold the object). */
export function addSpent(
  total: { input: number; output: number },
  more: { input: number; output: number },
): void {
  total.input += more.input;
  total.output += more.output;
}

/**
 * Adds what a failed call was billed for (spentOf) to a running total; the answering model, or
 * undefined when the call got no answer and cost nothing.
 */
export function addSpentOf(total: { input: number; output: number }, err: unknown): string | undefined {
  const spent = spentOf(err);
  if (!spent) return undefined;
  addSpent(total, spent.usage);
  return spent.model;
}

/**
 * `err`, carrying what the calls answered before it cost (spentOf reads it), so the caller that
 * catches it meters them. An error that is not a DomainError, or nothing spent, is returned as it is.
 */
export function withSpent(
  err: unknown,
  model: string | undefined,
  usage: { input: number; output: number },
): unknown {
  if (!model || usage.input + usage.output === 0 || !isDomainError(err)) return err;
  return new DomainError(err.code, err.message, {
    retryable: err.retryable,
    ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    ...(err.field === undefined ? {} : { field: err.field }),
    details: { ...err.details, spent: { model, usage } },
    cause: err,
  });
}

function parseOutput<T>(text: string, output: JsonOutput<T>, spent: Spent): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw malformed("not JSON", text, spent, err);
  }
  const parsed = output.schema.safeParse(value);
  if (!parsed.success)
    throw malformed(`does not match "${output.name}": ${z.prettifyError(parsed.error)}`, text, spent);
  return parsed.data;
}

export function createLocalModel(opts: LocalModelOptions): LocalModel {
  const client = new OpenAI({
    baseURL: v1(opts.baseUrl),
    apiKey: opts.token,
    maxRetries: 0,
    timeout: opts.timeoutMs ?? 120_000,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });

  async function chat<T>(
    input: ChatInput & { jsonSchema?: JsonOutput<T> },
  ): Promise<ChatResult<T | undefined>> {
    const output = input.jsonSchema;
    let completion: OpenAI.ChatCompletion;
    try {
      completion = await client.chat.completions.create({
        model: opts.model,
        messages: input.messages,
        ...(input.maxTokens === undefined ? {} : { max_tokens: input.maxTokens }),
        ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
        ...(output
          ? {
              response_format: {
                type: "json_schema",
                json_schema: { name: output.name, schema: jsonSchemaOf(output.schema) },
              },
            }
          : {}),
      });
    } catch (err) {
      throw fromOpenAIError(err, WHAT);
    }
    const choice = completion.choices[0];
    if (!choice) throw malformed("no choices in the completion", "");
    const text = choice.message.content ?? "";
    const usage = {
      input: completion.usage?.prompt_tokens ?? 0,
      output: completion.usage?.completion_tokens ?? 0,
    };
    const result = { text, usage, model: completion.model };
    if (!output) return { ...result, json: undefined };
    // Cut off by max_tokens: the JSON is incomplete, and saying so beats a confusing parse error.
    const spent = { model: completion.model, usage };
    if (choice.finish_reason === "length") throw malformed("cut off by the token limit", text, spent);
    return { ...result, json: parseOutput(text, output, spent) };
  }

  return { model: opts.model, chat: chat as LocalModel["chat"] };
}

/** The conversation with a turn saying why the last answer was refused: one repair attempt. */
export const withRepair = (messages: ChatMessage[], problem: string): ChatMessage[] =>
  problem
    ? [
        ...messages,
        {
          role: "user",
          content: `Your previous answer was invalid (${problem}). Answer again with valid JSON.`,
        },
      ]
    : messages;
