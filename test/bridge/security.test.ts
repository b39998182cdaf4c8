// The bridge's edge: bearer auth on everything but /health (missing, wrong and rotated tokens), and bad
// input refused with an OpenAI-style error object — never forwarded upstream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { auth, chat, chatBody, startBridge, type TestBridge, TOKEN } from "./harness.ts";

let up: OpenAIUpstream;
let b: TestBridge;
beforeAll(async () => {
  up = await startOpenAIUpstream();
  b = await startBridge(
    { active: [up.url] },
    {
      BRIDGE_MAX_BODY_BYTES: "1024",
      BRIDGE_TOKENS: `${TOKEN},rotated-in-token`,
      BRIDGE_UPSTREAM_API_KEY: "upstream-key",
    },
  );
});
afterAll(async () => {
  await b.close();
  await up.close();
});

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };
const errorOf = async (res: Response) => ((await res.json()) as ErrorBody).error;
const upstreamChats = () => up.callsTo("POST", "/v1/chat/completions").length;

describe("auth", () => {
  it("refuses a missing token on every route but /health", async () => {
    for (const [method, path] of [
      ["POST", "/v1/chat/completions"],
      ["GET", "/v1/models"],
      ["GET", "/metrics"],
      ["GET", "/nowhere"],
    ] as const) {
      const res = await fetch(`${b.url}${path}`, {
        method,
        body: method === "POST" ? JSON.stringify(chatBody()) : null,
      });
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await errorOf(res)).toEqual({
        message: "Missing or invalid bearer token.",
        type: "authentication_error",
        param: null,
        code: "invalid_api_key",
      });
    }
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
  });

  it("refuses wrong tokens, near misses and other schemes", async () => {
    const before = upstreamChats();
    for (const authorization of [
      "Bearer wrong-token-value",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      "Bearer ",
    ]) {
      const res = await chat(b.url, chatBody(), { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
    }
    expect(upstreamChats()).toBe(before);
  });

  it("accepts every configured token, so tokens rotate without downtime", async () => {
    expect((await chat(b.url, chatBody(), { headers: auth(TOKEN) })).status).toBe(200);
    expect(
      (await chat(b.url, chatBody(), { headers: { authorization: "bearer rotated-in-token" } })).status,
    ).toBe(200);
    // After rotation only the new token is configured: the old one stops working.
    const rotated = await startBridge({ active: [up.url] }, { BRIDGE_TOKENS: "rotated-in-token" });
    try {
      expect((await chat(rotated.url, chatBody(), { headers: auth(TOKEN) })).status).toBe(401);
      expect((await chat(rotated.url, chatBody(), { headers: auth("rotated-in-token") })).status).toBe(200);
    } finally {
      await rotated.close();
    }
  });

  it("never forwards the client's token; the upstream gets its own key", async () => {
    up.reset();
    await chat(b.url, chatBody());
    expect(up.callsTo("POST", "/v1/chat/completions")[0]?.headers.authorization).toBe("Bearer upstream-key");
  });
});

describe("bad input", () => {
  it("refuses an oversized body with 413 before reading it", async () => {
    const before = upstreamChats();
    const big = chatBody({ messages: [{ role: "user", content: "x".repeat(2000) }] });
    const res = await chat(b.url, big);
    expect(res.status).toBe(413);
    expect(await errorOf(res)).toMatchObject({ type: "invalid_request_error", code: "body_too_large" });
    expect(upstreamChats()).toBe(before);
  });

  it("refuses an oversized chunked body (no content-length) with 413", async () => {
    const chunk = new TextEncoder().encode("x".repeat(600));
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(chunk);
        c.enqueue(chunk);
        c.close();
      },
    });
    const res = await fetch(`${b.url}/v1/chat/completions`, {
      method: "POST",
      headers: auth(),
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it.each([
    ["invalid JSON", "{ nope", "invalid_json", null],
    ["a non-object body", "[1, 2]", "invalid_json", null],
    [
      "a missing model",
      JSON.stringify({ messages: [{ role: "user", content: "hi" }] }),
      "missing_model",
      "model",
    ],
    ["an empty model", JSON.stringify(chatBody({ model: "" })), "missing_model", "model"],
    ["missing messages", JSON.stringify({ model: "fake-model" }), "invalid_value", "messages"],
    ["a non-boolean stream", JSON.stringify(chatBody({ stream: "yes" })), "invalid_value", "stream"],
  ])("refuses %s with 400 and forwards nothing", async (_, body, code, param) => {
    const before = upstreamChats();
    const res = await chat(b.url, body);
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ type: "invalid_request_error", code, param });
    expect(upstreamChats()).toBe(before);
  });

  it("answers unknown routes with 404 and wrong methods with 405", async () => {
    const missing = await fetch(`${b.url}/v1/embeddings`, { method: "POST", headers: auth(), body: "{}" });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("not_found");
    const wrong = await fetch(`${b.url}/v1/chat/completions`, { headers: auth() });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
  });
});
