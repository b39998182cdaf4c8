// A fake OpenAI-compatible inference server (what vLLM, llama.cpp server and Ollama look like from the
// bridge), /v1/chat/completions (JSON or SSE with the final usage
// chunk, json_schema / json_object / vLLM guided_json output), /v1/models and /health. Tests steer it
// through `behaviour` (latency, capacity, reply, JSON output, native json_schema support, deaths
// mid-stream or mid-body) plus hold()/release(), and read what it saw in `stats` and `sent`.
// Production code (the fake-upstream script) and the tests both serve these routes, so this file
// lives beside the bridge and imports nothing from test/.
import type { HttpBindings } from "@hono/node-server";
import type { Hono } from "hono";

export type FakeEnv = { Bindings: HttpBindings };

export interface UpstreamBehaviour {
  /** The one served model: listed in /v1/models; any other requested model gets vLLM's 404. */
  model: string;
  /** Assistant text; streamed one word per chunk. */
  reply: string;
  /** The content (as JSON text) when the request asks for JSON output. */
  json: unknown;
  /** Wait before answering (non-stream) or before the first chunk (stream). */
  latencyMs: number;
  /** Wait between stream chunks. */
  chunkDelayMs: number;
  /** Generations run at once (a GPU's batch); later requests wait their turn, FIFO. */
  capacity: number;
  /** false = vLLM before json_schema support: response_format json_schema → 400, guided_json works. */
  nativeJsonSchema: boolean;
  /** Stream: destroy the connection after this many data events. */
  dieAfterChunks: number | undefined;
  /** Non-stream: send headers and this many body bytes, then destroy the connection. */
  cutBodyAfterBytes: number | undefined;
}

export interface UpstreamStats {
  inFlight: number;
  maxInFlight: number;
  completed: number;
  /** Responses whose connection closed before they were complete (the caller went away). */
  aborted: number;
}

export interface UpstreamState {
  readonly stats: UpstreamStats;
  /** Every stream body exactly as written, in order. */
  readonly sent: string[];
  /** Every chat completion request body, parsed. */
  readonly requests: Record<string, unknown>[];
  /** While held, generations pause at the start (or after `afterChunks` stream chunks). */
  hold(afterChunks?: number): void;
  release(): void;
}

export const defaultBehaviour = (): UpstreamBehaviour => ({
  model: "fake-model",
  reply: "The quick brown fox jumps over the lazy dog.",
  json: { verdict: "pass", score: 7 },
  latencyMs: 0,
  chunkDelayMs: 0,
  capacity: Number.POSITIVE_INFINITY,
  nativeJsonSchema: true,
  dieAfterChunks: undefined,
  cutBodyAfterBytes: undefined,
});

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

type ChatBody = {
  model?: unknown;
  messages?: Array<{ content?: unknown }>;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  response_format?: { type?: unknown };
  guided_json?: unknown;
};

/** A small FIFO of "GPU" turns, so capacity behaves like a batch limit. */
function capacityGate(behaviour: UpstreamBehaviour) {
  let busy = 0;
  const waiting: Array<() => void> = [];
  return {
    async enter(): Promise<() => void> {
      if (busy >= behaviour.capacity) await new Promise<void>((r) => waiting.push(r));
      else busy += 1;
      return () => {
        const next = waiting.shift();
        if (next) next();
        else busy -= 1;
      };
    },
  };
}

export function createUpstreamState(): UpstreamState & { gate(chunk: number): Promise<void> } {
  let held: { afterChunks: number; open: Promise<void>; release: () => void } | undefined;
  return {
    stats: { inFlight: 0, maxInFlight: 0, completed: 0, aborted: 0 },
    sent: [],
    requests: [],
    hold(afterChunks = 0) {
      if (held) return;
      let release = () => {};
      const open = new Promise<void>((r) => {
        release = r;
      });
      held = { afterChunks, open, release };
    },
    release() {
      held?.release();
      held = undefined;
    },
    gate(chunk) {
      return held && chunk >= held.afterChunks ? held.open : Promise.resolve();
    },
  };
}

const wantsJson = (b: ChatBody) =>
  b.guided_json !== undefined ||
  b.response_format?.type === "json_schema" ||
  b.response_format?.type === "json_object";

// One "token" per character of prompt text keeps the numbers predictable for the tests.
export const promptTokens = (b: ChatBody) =>
  (b.messages ?? []).reduce((n, m) => n + (typeof m.content === "string" ? m.content.length : 0), 0);

/** Registers the fake inference server's routes on a startFake (or plain Hono) app. */
export function openaiRoutes(behaviour: UpstreamBehaviour, state: ReturnType<typeof createUpstreamState>) {
  const gpu = capacityGate(behaviour);
  let seq = 0;
  return (app: Hono<FakeEnv>) => {
    app.get("/health", (c) => c.json({ status: "ok" }));
    app.get("/v1/models", (c) =>
      c.json({
        object: "list",
        data: [{ id: behaviour.model, object: "model", created: 1700000000, owned_by: "fake" }],
      }),
    );
    app.post("/v1/chat/completions", async (c) => {
      const body = (await c.req.json()) as ChatBody;
      state.requests.push(body as Record<string, unknown>);
      if (body.model !== behaviour.model) {
        const message = `The model \`${String(body.model)}\` does not exist.`;
        return c.json({ error: { message, type: "NotFoundError", param: null, code: 404 } }, 404);
      }
      if (body.response_format?.type === "json_schema" && !behaviour.nativeJsonSchema) {
        const message = "response_format json_schema is not supported; use guided_json";
        return c.json(
          { error: { message, type: "BadRequestError", param: "response_format", code: 400 } },
          400,
        );
      }
      const { stats } = state;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      const out = c.env.outgoing;
      out.once("close", () => {
        stats.inFlight -= 1;
        if (out.writableFinished) stats.completed += 1;
        else stats.aborted += 1;
      });
      const leave = await gpu.enter();
      if (out.closed) leave();
      else out.once("close", leave);
      const id = `chatcmpl-fake-${++seq}`;
      const content = wantsJson(body) ? JSON.stringify(behaviour.json) : behaviour.reply;
      const pieces = wantsJson(body) ? (content.match(/.{1,8}/gs) ?? []) : content.split(/(?<= )/);
      const usage = {
        prompt_tokens: promptTokens(body),
        completion_tokens: pieces.length,
        total_tokens: promptTokens(body) + pieces.length,
      };
      const dying = () => c.env.incoming.socket.destroy();

      if (body.stream !== true) {
        await state.gate(0);
        await sleep(behaviour.latencyMs);
        const text = JSON.stringify({
          id,
          object: "chat.completion",
          created: 1700000000,
          model: behaviour.model,
          choices: [
            { index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" },
          ],
          usage,
        });
        const cut = behaviour.cutBodyAfterBytes;
        if (cut === undefined) return c.body(text, 200, { "content-type": "application/json" });
        const stream = new ReadableStream<Uint8Array>({
          async start(controller) {
            controller.enqueue(new TextEncoder().encode(text.slice(0, cut)));
            await sleep(5);
            dying();
          },
        });
        return c.body(stream, 200, {
          "content-type": "application/json",
          "content-length": String(text.length),
        });
      }

      const chunk = (delta: object, finish: string | null) => ({
        id,
        object: "chat.completion.chunk",
        created: 1700000000,
        model: behaviour.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      });
      const events: object[] = [
        chunk({ role: "assistant", content: "" }, null),
        ...pieces.map((p) => chunk({ content: p }, null)),
        chunk({}, "stop"),
      ];
      if (body.stream_options?.include_usage === true)
        events.push({
          id,
          object: "chat.completion.chunk",
          created: 1700000000,
          model: behaviour.model,
          choices: [],
          usage,
        });
      const lines = [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), "data: [DONE]\n\n"];
      const encoder = new TextEncoder();
      let written = "";
      state.sent.push("");
      const slot = state.sent.length - 1;
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          await sleep(behaviour.latencyMs);
          for (const [i, line] of lines.entries()) {
            if (behaviour.dieAfterChunks !== undefined && i >= behaviour.dieAfterChunks) {
              await sleep(5); // let the chunks already written reach the socket before it dies
              dying();
              return;
            }
            await state.gate(i);
            if (out.destroyed) return;
            if (i > 0) await sleep(behaviour.chunkDelayMs);
            controller.enqueue(encoder.encode(line));
            written += line;
            state.sent[slot] = written;
          }
          controller.close();
        },
      });
      return c.body(stream, 200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    });
  };
}
