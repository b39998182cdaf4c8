// Deps wiring: with BRIDGE_URL + BRIDGE_TOKEN the local tier talks to the GPU bridge (here a real
// bridge in front of a fake inference server); without them it is absent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import type { AppDb } from "../db/types.ts";
import { startBridge, type TestBridge, TOKEN } from "../test/bridge/harness.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import { loadConfig } from "./config.ts";
import { createDeps } from "./deps.ts";

let upstream: OpenAIUpstream;
let bridge: TestBridge;
beforeAll(async () => {
  upstream = await startOpenAIUpstream({ model: "qwen-local", json: { verdict: "pass", score: 0.9 } });
  bridge = await startBridge({ active: [upstream.url] });
});
afterAll(async () => {
  await bridge?.close();
  await upstream?.close();
});

const parts = (env: Record<string, string>) => ({
  config: loadConfig(env, "node"),
  db: {} as AppDb,
  dbKind: "pglite" as const,
  events: { send: async () => ({ ids: [] }) },
  version: "test",
});

describe("createDeps", () => {
  it("builds the local tier from BRIDGE_URL, BRIDGE_TOKEN and LOCAL_MODEL, reaching the model through the bridge", async () => {
    const deps = createDeps(
      parts({ BRIDGE_URL: bridge.url, BRIDGE_TOKEN: TOKEN, LOCAL_MODEL: "qwen-local" }),
    );
    const verdict = z.object({ verdict: z.enum(["pass", "fail"]), score: z.number() });
    const res = await deps.local?.chat({
      messages: [{ role: "user", content: "review this" }],
      jsonSchema: { name: "verdict", schema: verdict },
    });
    expect(res?.json).toEqual({ verdict: "pass", score: 0.9 });
    expect(upstream.requests.at(-1)).toMatchObject({ model: "qwen-local" });
  });

  it("leaves the local tier out without a bridge, and refuses a bridge URL without its token", () => {
    expect(createDeps(parts({})).local).toBeUndefined();
    expect(() => loadConfig({ BRIDGE_URL: "http://127.0.0.1:8788" }, "node")).toThrow(
      /BRIDGE_TOKEN: required/,
    );
  });
});
