// A fake Anthropic Messages API (POST /v1/messages, non-streaming) on the startFake harness, for the
// real @anthropic-ai/sdk pointed at it with `baseURL`. Faithful where foreman depends on it: the
// response shape (text and tool_use blocks, stop_reason, usage with cache tokens), the error body
// `{type:"error", error:{type, message}, request_id}` with the real statuses (400 invalid_request_error,
// 401 authentication_error, 403 permission_error, 404 not_found_error, 429 rate_limit_error with
// retry-after, 500 api_error, 529 overloaded_error), and the request checks a translation bug would
// trip (anthropic-checks.ts).
// Answers come from a script (model-script.ts); every request body is logged for assertions.

import { type AnthropicRequestBody, anthropicRequestProblem, thinkingSignature } from "./anthropic-checks.ts";
import {
  ModelScript,
  type ScriptedError,
  type ScriptedErrorKind,
  type ScriptedTurn,
  sleep,
  tokensOf,
} from "./model-script.ts";
import { type FakeServer, startFake } from "./server.ts";

export type { AnthropicRequestBody };
export { thinkingSignature };

export interface AnthropicRequest {
  body: AnthropicRequestBody;
  headers: Record<string, string>;
}

export interface AnthropicFake extends FakeServer {
  readonly apiKey: string;
  /** Every well-formed request that reached the model (after the header and body checks). */
  readonly requests: AnthropicRequest[];
  /** Queues turns; each request consumes one. An empty queue answers `script.fallback`. */
  readonly script: ModelScript;
  /** Shorthand for script.push. */
  queue(...turns: ScriptedTurn[]): void;
}

export interface AnthropicFakeOptions {
  apiKey?: string;
  /** Models that exist; any other gets a 404 (default: every model exists). */
  models?: string[];
}

const ERRORS: Record<ScriptedErrorKind, { status: number; type: string; message: string }> = {
  rate_limit: {
    status: 429,
    type: "rate_limit_error",
    message: "This request would exceed your organization's rate limit. Please try again later.",
  },
  overloaded: { status: 529, type: "overloaded_error", message: "Overloaded" },
  auth: { status: 401, type: "authentication_error", message: "invalid x-api-key" },
  permission: {
    status: 403,
    type: "permission_error",
    message: "Your API key does not have permission to use the specified resource.",
  },
  invalid_request: { status: 400, type: "invalid_request_error", message: "Invalid request" },
  not_found: { status: 404, type: "not_found_error", message: "Not found" },
  server: { status: 500, type: "api_error", message: "Internal server error" },
};

export async function startAnthropicFake(opts: AnthropicFakeOptions = {}): Promise<AnthropicFake> {
  const apiKey = opts.apiKey ?? "sk-ant-fake-key";
  const requests: AnthropicRequest[] = [];
  const script = new ModelScript();
  let seq = 0;

  const error = (status: number, type: string, message: string, headers = {}) =>
    new Response(
      JSON.stringify({ type: "error", error: { type, message }, request_id: `req_fake${++seq}` }),
      {
        status,
        headers: { "content-type": "application/json", "request-id": `req_fake${seq}`, ...headers },
      },
    );

  const scriptedError = (e: ScriptedError) => {
    const base = ERRORS[e.kind];
    const retryAfter = e.retryAfter ?? (e.kind === "rate_limit" ? 20 : undefined);
    return error(
      e.status ?? base.status,
      base.type,
      e.message ?? base.message,
      retryAfter === undefined ? {} : { "retry-after": String(retryAfter) },
    );
  };

  const fake = await startFake((app) => {
    app.post("/v1/messages", async (c) => {
      const headers = Object.fromEntries(c.req.raw.headers);
      const bearer = headers.authorization?.replace(/^Bearer /, "");
      const key = headers["x-api-key"] ?? bearer;
      if (!key) return error(401, "authentication_error", "x-api-key header is required");
      if (key !== apiKey) return error(401, "authentication_error", "invalid x-api-key");
      if (!headers["anthropic-version"])
        return error(400, "invalid_request_error", "anthropic-version: header is required");
      let body: AnthropicRequestBody;
      try {
        body = (await c.req.json()) as AnthropicRequestBody;
      } catch {
        return error(400, "invalid_request_error", "There was an error parsing the body");
      }
      const problem = anthropicRequestProblem(body);
      if (problem) return error(400, "invalid_request_error", problem);
      if (opts.models && !opts.models.includes(body.model))
        return error(404, "not_found_error", `model: ${body.model}`);
      if (body.stream === true)
        return error(400, "invalid_request_error", "stream: this fake answers non-streaming requests only");
      requests.push({ body, headers });

      const turn = script.next();
      await sleep(turn.delayMs ?? 0);
      await turn.hold?.();
      if (turn.error) return scriptedError(turn.error);

      let text = turn.text ?? "";
      let toolUse = turn.toolUse ?? [];
      let output = turn.usage?.output ?? tokensOf(text + JSON.stringify(toolUse.map((t) => t.input ?? {})));
      let stop = turn.stop ?? (toolUse.length > 0 ? "tool_use" : "end");
      // Like the model, stop at max_tokens: the text is cut and an unfinished tool call is dropped.
      if (turn.usage?.output === undefined && output > body.max_tokens) {
        text = text.slice(0, body.max_tokens * 4);
        toolUse = [];
        output = body.max_tokens;
        stop = "max_tokens";
      }
      const id = ++seq;
      const content = [
        ...(turn.thinking
          ? [
              {
                type: "thinking",
                thinking: turn.thinking,
                signature: thinkingSignature(body.model, turn.thinking),
              },
            ]
          : []),
        ...(text ? [{ type: "text", text, citations: null }] : []),
        ...toolUse.map((t, i) => ({
          type: "tool_use",
          id: t.id ?? `toolu_fake${id}x${i}`,
          name: t.name,
          input: t.input ?? {},
          caller: { type: "direct" },
        })),
      ];
      const cacheWrite = turn.usage?.cacheWrite ?? 0;
      return c.json(
        {
          id: `msg_fake${id}`,
          type: "message",
          role: "assistant",
          model: body.model,
          content,
          stop_reason: stop === "end" ? "end_turn" : stop,
          stop_sequence: null,
          usage: {
            input_tokens:
              turn.usage?.input ??
              tokensOf({ system: body.system, messages: body.messages, tools: body.tools }),
            output_tokens: output,
            cache_creation_input_tokens: cacheWrite,
            cache_read_input_tokens: turn.usage?.cacheRead ?? 0,
            cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
            server_tool_use: null,
            service_tier: "standard",
          },
        },
        200,
        { "request-id": `req_fake${id}` },
      );
    });
  });

  const resetCalls = fake.reset;
  return Object.assign(fake, {
    apiKey,
    requests,
    script,
    queue: (...turns: ScriptedTurn[]) => script.push(...turns),
    /** Clears calls, faults, the request log and the script. */
    reset() {
      resetCalls();
      requests.length = 0;
      script.clear();
    },
  });
}
