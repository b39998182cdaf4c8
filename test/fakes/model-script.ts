// The script both model fakes play (anthropic.ts, openai-chat.ts): a queue of turns, one consumed per
// request, each a text answer, tool calls, or an error, optionally slow. Each fake renders a turn in
// its own provider's wire format, so a test can script "the same turn" for either tier.

export interface ScriptedToolUse {
  name: string;
  input?: unknown;
  /** Default: a fresh provider-style id (toolu_… / call_…). */
  id?: string;
  /** OpenAI only: send exactly this as the arguments text (e.g. broken JSON). */
  rawArguments?: string;
}

export interface ScriptedUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

export type ScriptedErrorKind =
  | "rate_limit"
  | "overloaded"
  | "auth"
  | "permission"
  | "invalid_request"
  | "not_found"
  | "server";

export interface ScriptedError {
  kind: ScriptedErrorKind;
  /** Overrides the kind's usual status (e.g. 502 or 503 for "server"). */
  status?: number;
  message?: string;
  /** Sent as the retry-after header (seconds, or an HTTP date). */
  retryAfter?: string | number;
}

export interface ScriptedTurn {
  /** Anthropic only: a signed thinking block ahead of the answer (what adaptive thinking returns). */
  thinking?: string;
  text?: string;
  toolUse?: ScriptedToolUse[];
  /** Default: tool_use when there are tool calls, else end. */
  stop?: "end" | "tool_use" | "max_tokens" | "model_context_window_exceeded";
  /** Default: counted from the request and the answer (one token per four characters). */
  usage?: ScriptedUsage;
  /** Answer after this long (slow responses, timeouts). */
  delayMs?: number;
  /** Called when the request arrives, answered once it settles: a test acts while the turn is in flight. */
  hold?: () => Promise<unknown>;
  error?: ScriptedError;
}

export const textTurn = (text: string, extra: Partial<ScriptedTurn> = {}): ScriptedTurn => ({
  text,
  ...extra,
});

export const toolTurn = (
  name: string,
  input: unknown,
  extra: Partial<ScriptedTurn> & { id?: string } = {},
): ScriptedTurn => {
  const { id, ...rest } = extra;
  return { toolUse: [{ name, input, ...(id ? { id } : {}) }], ...rest };
};

export const errorTurn = (
  kind: ScriptedErrorKind,
  extra: Omit<ScriptedError, "kind"> = {},
): ScriptedTurn => ({
  error: { kind, ...extra },
});

/** The script: turns queued by tests, a default answer when the queue is empty. */
export class ModelScript {
  readonly #turns: ScriptedTurn[] = [];
  fallback: ScriptedTurn = { text: "Done." };

  push(...turns: ScriptedTurn[]): void {
    this.#turns.push(...turns);
  }

  next(): ScriptedTurn {
    return this.#turns.shift() ?? this.fallback;
  }

  get pending(): number {
    return this.#turns.length;
  }

  clear(): void {
    this.#turns.length = 0;
    this.fallback = { text: "Done." };
  }
}

/** One token per four characters, at least one: predictable numbers for assertions. */
export const tokensOf = (value: unknown): number =>
  Math.max(1, Math.ceil((typeof value === "string" ? value : JSON.stringify(value ?? "")).length / 4));

export const sleep = (ms: number) =>
  ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve();
