// The local model client with the real openai SDK against a real bridge in front of a fake upstream:
// schema-validated JSON output, token usage, and every failure mapped to the DomainError the function
// edge acts on: `retryable: false` becomes NonRetriableError, `retryAfterMs` becomes RetryAfterError
// (functions/errors.ts, tested there), anything else is left to Inngest's backoff.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { startBridge, type TestBridge, TOKEN } from "../../test/bridge/harness.ts";
import { failure } from "../../test/failure.ts";
import {
  defaultBehaviour,
  type OpenAIUpstream,
  startOpenAIUpstream,
} from "../../test/fakes/openai-upstream.ts";
import { startFake } from "../../test/fakes/server.ts";
import { createLocalModel } from "./local.ts";

const Review = z.object({ verdict: z.enum(["pass", "fail"]), score: z.number().int().min(0).max(10) });
const messages = [{ role: "user" as const, content: "Review this." }];

let up: OpenAIUpstream;
let b: TestBridge;
beforeAll(async () => {
  up = await startOpenAIUpstream();
  b = await startBridge(
    { active: [up.url] },
    { BRIDGE_SLOTS: "1", BRIDGE_QUEUE: "0", BRIDGE_RETRY_AFTER_S: "3" },
  );
});
afterAll(async () => {
  await b.close();
  await up.close();
});
afterEach(() => {
  up.release();
  up.reset();
  Object.assign(up.behaviour, defaultBehaviour());
});

const model = (overrides: Partial<Parameters<typeof createLocalModel>[0]> = {}) =>
  createLocalModel({ baseUrl: b.url, token: TOKEN, model: "fake-model", ...overrides });

describe("createLocalModel", () => {
  it("returns text, usage and the answering model", async () => {
    const r = await model().chat({ messages, maxTokens: 64, temperature: 0 });
    expect(r).toEqual({
      text: up.behaviour.reply,
      json: undefined,
      usage: { input: 12, output: 9 },
      model: "fake-model",
    });
    expect(up.requests[0]).toMatchObject({ max_tokens: 64, temperature: 0 });
    expect(up.requests[0]).not.toHaveProperty("response_format");
  });

  it("asks for the zod schema as json_schema and returns the validated object", async () => {
    const r = await model().chat({ messages, jsonSchema: { name: "review", schema: Review } });
    const json: { verdict: "pass" | "fail"; score: number } = r.json;
    expect(json).toEqual({ verdict: "pass", score: 7 });
    expect(up.requests[0]?.response_format).toEqual({
      type: "json_schema",
      json_schema: {
        name: "review",
        schema: {
          type: "object",
          properties: {
            verdict: { type: "string", enum: ["pass", "fail"] },
            score: { type: "integer", minimum: 0, maximum: 10 },
          },
          required: ["verdict", "score"],
          additionalProperties: false,
        },
      },
    });
  });

  it("refuses output that does not match the schema: VALIDATION → NonRetriableError", async () => {
    up.behaviour.json = { verdict: "maybe", score: 7 };
    const err = await failure(model().chat({ messages, jsonSchema: { name: "review", schema: Review } }));
    expect(err.code).toBe("VALIDATION");
    expect(err.message).toContain('does not match "review"');
    expect(err.details?.output).toBe('{"verdict":"maybe","score":7}');
    expect(err.retryable).toBe(false);
  });

  it.each([
    ["is not JSON", "Sure! {verdict", "stop", "not JSON"],
    ["was cut off by the token limit", '{"verdict":"pa', "length", "cut off by the token limit"],
  ])("refuses output that %s", async (_, content, finish_reason, expected) => {
    // A bare upstream answering exactly this completion, called directly (the bridge adds nothing here).
    const fake = await startFake((app) => {
      app.post("/v1/chat/completions", (c) =>
        c.json({
          id: "x",
          object: "chat.completion",
          created: 1,
          model: "fake-model",
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
    try {
      const err = await failure(
        model({ baseUrl: `${fake.url}/v1` }).chat({
          messages,
          jsonSchema: { name: "review", schema: Review },
        }),
      );
      expect([err.code, err.message]).toEqual(["VALIDATION", expect.stringContaining(expected)]);
      expect(err.retryable).toBe(false);
    } finally {
      await fake.close();
    }
  });

  it("turns the bridge's 503 into a retryable UNAVAILABLE carrying Retry-After", async () => {
    up.hold();
    const busy = model().chat({ messages }); // takes the only slot; the queue holds none
    await vi.waitFor(() => expect(up.stats.inFlight).toBe(1));
    const err = await failure(model().chat({ messages }));
    expect(err).toMatchObject({ code: "UNAVAILABLE", retryable: true, retryAfterMs: 3000 });
    expect(err.details).toMatchObject({ status: 503, code: "queue_full" });
    up.release();
    await busy;
  });

  it("turns 401 into a non-retryable UNAUTHORIZED", async () => {
    const err = await failure(model({ token: "not-the-token" }).chat({ messages }));
    expect([err.code, err.retryable]).toEqual(["UNAUTHORIZED", false]);
  });

  it("turns a passed-through 429 into RATE_LIMITED with its delay", async () => {
    up.fail({
      status: 429,
      body: { error: { message: "slow down" } },
      headers: { "retry-after": "5" },
      times: 1,
    });
    const err = await failure(model().chat({ messages }));
    expect(err).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 5000 });
  });

  it("turns a 502 (upstream died mid-request) into a retryable UPSTREAM error, left to Inngest", async () => {
    up.fail({ match: (c) => c.path === "/v1/chat/completions", delayMs: 5, drop: true, times: 1 });
    const err = await failure(model().chat({ messages }));
    expect(err).toMatchObject({ code: "UPSTREAM", retryable: true, retryAfterMs: undefined });
    expect(err.details).toMatchObject({ status: 502, code: "upstream_disconnected" });
  });

  it("turns an unreachable bridge and a timeout into UPSTREAM", async () => {
    const gone = await startOpenAIUpstream();
    await gone.close();
    const unreachable = await failure(model({ baseUrl: gone.url }).chat({ messages }));
    expect([unreachable.code, unreachable.retryable]).toEqual(["UPSTREAM", true]);

    up.hold();
    const slow = await failure(model({ timeoutMs: 50 }).chat({ messages }));
    expect(slow.code).toBe("UPSTREAM");
    expect(slow.message).toMatch(/timed out/i);
  });

  it("turns an unknown model name into CONFIG", async () => {
    const err = await failure(model({ model: "no-such-model" }).chat({ messages }));
    expect([err.code, err.retryable]).toEqual(["CONFIG", false]);
  });

  it("uses the fetch it is given", async () => {
    const seen: string[] = [];
    const counting: typeof fetch = (input, init) => {
      seen.push(String(input instanceof Request ? input.url : input));
      return fetch(input, init);
    };
    await model({ fetch: counting }).chat({ messages });
    expect(seen).toEqual([`${b.url}/v1/chat/completions`]);
  });
});
