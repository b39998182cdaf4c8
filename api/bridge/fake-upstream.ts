// A fake OpenAI-compatible inference server to try the bridge without a GPU (and the upstream the
// benchmark measures against). It serves the same routes the bridge tests use
// (test/fakes/openai-upstream.ts): /v1/chat/completions (JSON or SSE with a final usage chunk,
// json_schema / guided_json output), /v1/models and /health.
//
//   node api/bridge/fake-upstream.ts --port 9001 [--host 127.0.0.1] [--model fake-model]
//     [--latency-ms 50] [--chunk-delay-ms 20] [--capacity 4] [--reply "text"] [--no-native-json-schema]
//
// Prints one JSON line {"event":"listening","url":...} once it accepts connections (--port 0 picks a
// free port). Stops on SIGINT/SIGTERM.
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { createUpstreamState, defaultBehaviour, type FakeEnv, openaiRoutes } from "./fake-routes.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "9001" },
    host: { type: "string", default: "127.0.0.1" },
    model: { type: "string" },
    reply: { type: "string" },
    "latency-ms": { type: "string", default: "0" },
    "chunk-delay-ms": { type: "string", default: "0" },
    capacity: { type: "string" },
    "no-native-json-schema": { type: "boolean", default: false },
  },
});

const number = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
};

const behaviour = {
  ...defaultBehaviour(),
  latencyMs: number("latency-ms", values["latency-ms"]),
  chunkDelayMs: number("chunk-delay-ms", values["chunk-delay-ms"]),
  nativeJsonSchema: !values["no-native-json-schema"],
  ...(values.model ? { model: values.model } : {}),
  ...(values.reply ? { reply: values.reply } : {}),
  ...(values.capacity ? { capacity: number("capacity", values.capacity) } : {}),
};

const app = new Hono<FakeEnv>();
openaiRoutes(behaviour, createUpstreamState())(app);
const server = serve(
  { fetch: app.fetch, port: number("port", values.port), hostname: values.host },
  (info: AddressInfo) =>
    console.log(
      JSON.stringify({
        event: "listening",
        url: `http://${values.host}:${info.port}`,
        model: behaviour.model,
      }),
    ),
);

const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
