// A fake OpenAI chat-completions API with tools (POST /v1/chat/completions, non-streaming) on the
// startFake harness, for the real openai SDK pointed at it with `baseURL`: the assistant message with
// `tool_calls` (arguments as JSON text), finish_reason stop / tool_calls / length, usage with cached
// prompt tokens, OpenAI's error body `{error:{message, type, param, code}}` and statuses, and the
// request checks a translation bug would trip (the bearer key here, the body in openai-chat-checks.ts). Answers come from the shared script (model-script.ts). api/bridge/fake-routes.ts stays the
// bridge's GPU-upstream fake (capacity, streaming, JSON output); this one is for tool-using turns.
import {
  ModelScript,
  type ScriptedError,
  type ScriptedErrorKind,
  type ScriptedTurn,
  sleep,
  tokensOf,
} from "./model-script.ts";
import { type ChatRequestBody, chatRequestProblem } from "./openai-chat-checks.ts";
import { type FakeServer, startFake } from "./server.ts";

export type { ChatRequestBody };

export interface ChatRequest {
  body: ChatRequestBody;
  headers: Record<string, string>;
}

export interface OpenAIChatFake extends FakeServer {
  readonly apiKey: string;
  /** The SDK's baseURL: `${url}/v1`. */
  readonly baseUrl: string;
  readonly requests: ChatRequest[];
  readonly script: ModelScript;
  queue(...turns: ScriptedTurn[]): void;
}

export interface OpenAIChatFakeOptions {
  apiKey?: string;
  /** Models that exist; any other gets a 404 model_not_found (default: every model exists). */
  models?: string[];
}

const ERRORS: Record<
  ScriptedErrorKind,
  { status: number; type: string; code: string | null; message: string }
> = {
  rate_limit: {
    status: 429,
    type: "tokens",
    code: "rate_limit_exceeded",
    message: "Rate limit reached for requests per min (RPM). Please try again later.",
  },
  overloaded: {
    status: 503,
    type: "server_error",
    code: null,
    message: "The engine is currently overloaded, please try again later",
  },
  auth: {
    status: 401,
    type: "invalid_request_error",
    code: "invalid_api_key",
    message: "Incorrect API key provided",
  },
  permission: {
    status: 403,
    type: "invalid_request_error",
    code: "unsupported_country_region_territory",
    message: "Country, region, or territory not supported",
  },
  invalid_request: { status: 400, type: "invalid_request_error", code: null, message: "Invalid request" },
  not_found: { status: 404, type: "invalid_request_error", code: "model_not_found", message: "Not found" },
  server: {
    status: 500,
    type: "server_error",
    code: null,
    message: "The server had an error while processing your request. Sorry about that!",
  },
};

export async function startOpenAIChatFake(opts: OpenAIChatFakeOptions = {}): Promise<OpenAIChatFake> {
  const apiKey = opts.apiKey ?? "sk-fake-overflow-key";
  const requests: ChatRequest[] = [];
  const script = new ModelScript();
  let seq = 0;

  const error = (
    status: number,
    e: { message: string; type: string; param?: string | null; code?: string | null },
    headers: Record<string, string> = {},
  ) =>
    new Response(JSON.stringify({ error: { param: null, code: null, ...e } }), {
      status,
      headers: { "content-type": "application/json", "x-request-id": `req_fake${++seq}`, ...headers },
    });

  const scriptedError = (e: ScriptedError) => {
    const base = ERRORS[e.kind];
    return error(
      e.status ?? base.status,
      { message: e.message ?? base.message, type: base.type, code: base.code },
      e.retryAfter === undefined ? {} : { "retry-after": String(e.retryAfter) },
    );
  };

  const fake = await startFake((app) => {
    app.post("/v1/chat/completions", async (c) => {
      const headers = Object.fromEntries(c.req.raw.headers);
      const key = headers.authorization?.replace(/^Bearer /, "");
      if (key !== apiKey)
        return error(401, {
          message: key
            ? `Incorrect API key provided: ${key.slice(0, 3)}***. You can find your API key at https://platform.openai.com/account/api-keys.`
            : "You didn't provide an API key.",
          type: "invalid_request_error",
          code: key ? "invalid_api_key" : null,
        });
      let body: ChatRequestBody;
      try {
        body = (await c.req.json()) as ChatRequestBody;
      } catch {
        return error(400, {
          message: "We could not parse the JSON body of your request.",
          type: "invalid_request_error",
        });
      }
      const problem = chatRequestProblem(body);
      if (problem) return error(400, { ...problem, type: "invalid_request_error" });
      if (opts.models && !opts.models.includes(body.model))
        return error(404, {
          message: `The model \`${body.model}\` does not exist or you do not have access to it.`,
          type: "invalid_request_error",
          code: "model_not_found",
        });
      requests.push({ body, headers });

      const turn = script.next();
      await sleep(turn.delayMs ?? 0);
      await turn.hold?.();
      if (turn.error) return scriptedError(turn.error);

      const limit = body.max_completion_tokens ?? body.max_tokens ?? Number.POSITIVE_INFINITY;
      let text = turn.text ?? "";
      let toolUse = turn.toolUse ?? [];
      let output = turn.usage?.output ?? tokensOf(text + JSON.stringify(toolUse.map((t) => t.input ?? {})));
      let stop = turn.stop ?? (toolUse.length > 0 ? "tool_use" : "end");
      if (turn.usage?.output === undefined && output > limit) {
        text = text.slice(0, limit * 4);
        toolUse = [];
        output = limit;
        stop = "max_tokens";
      }
      const id = ++seq;
      const cached = turn.usage?.cacheRead ?? 0;
      const prompt = (turn.usage?.input ?? tokensOf(body.messages) + tokensOf(body.tools ?? [])) + cached;
      const toolCalls = toolUse.map((t, i) => ({
        id: t.id ?? `call_fake${id}x${i}`,
        type: "function",
        function: { name: t.name, arguments: t.rawArguments ?? JSON.stringify(t.input ?? {}) },
      }));
      return c.json(
        {
          id: `chatcmpl-fake${id}`,
          object: "chat.completion",
          created: Math.floor(Date.now() / 1000),
          model: body.model,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                content: text || null,
                refusal: null,
                annotations: [],
                ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
              },
              logprobs: null,
              finish_reason: stop === "tool_use" ? "tool_calls" : stop === "max_tokens" ? "length" : "stop",
            },
          ],
          usage: {
            prompt_tokens: prompt,
            completion_tokens: output,
            total_tokens: prompt + output,
            prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
            completion_tokens_details: {
              reasoning_tokens: 0,
              audio_tokens: 0,
              accepted_prediction_tokens: 0,
              rejected_prediction_tokens: 0,
            },
          },
          service_tier: "default",
          system_fingerprint: "fp_fake",
        },
        200,
        { "x-request-id": `req_fake${id}` },
      );
    });
  });

  const resetCalls = fake.reset;
  return Object.assign(fake, {
    apiKey,
    baseUrl: `${fake.url}/v1`,
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
