// SSE pass-through: the client gets exactly the bytes the upstream wrote (final usage chunk and
// [DONE] included), a client that disconnects frees its slot and the upstream request is aborted,
// and an upstream dying mid-stream ends the stream with an OpenAI-style error event.
import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { chat, chatBody, health, scrape, startBridge, TOKEN } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup(env: Record<string, string> = {}) {
  const up = await startOpenAIUpstream();
  const b = await startBridge({ active: [up.url] }, env);
  closers.push(async () => {
    up.release();
    await b.close();
    await up.close();
  });
  return { up, b };
}

const streamBody = chatBody({ stream: true, stream_options: { include_usage: true } });

describe("streaming", () => {
  it("passes the stream through byte for byte, final usage chunk included, and counts its usage", async () => {
    const { up, b } = await setup();
    const res = await chat(b.url, streamBody);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const received = await res.text();
    expect(up.sent).toHaveLength(1);
    expect(received).toBe(up.sent[0]);
    const events = received.split("\n\n").filter(Boolean);
    expect(events.at(-1)).toBe("data: [DONE]");
    const usage = (JSON.parse((events.at(-2) as string).slice(6)) as { usage: Record<string, number> }).usage;
    // The fake counts a prompt token per character ("Say something." = 14) and a word per chunk (9).
    expect(usage).toMatchObject({ prompt_tokens: 14, completion_tokens: 9 });
    const m = await scrape(b.url);
    expect(m.get('bridge_tokens_total{direction="in"}')).toBe(14);
    expect(m.get('bridge_tokens_total{direction="out"}')).toBe(9);
  });

  it("frees the slot and aborts the upstream request when the client disconnects", async () => {
    const { up, b } = await setup({ BRIDGE_SLOTS: "1" });
    up.hold(1); // one chunk out, then the "generation" stalls
    const ac = new AbortController();
    const res = await chat(b.url, streamBody, { signal: ac.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    expect((await health(b.url)).slots.busy).toBe(1);

    ac.abort();
    await vi.waitFor(() => expect(up.stats.aborted).toBe(1));
    await vi.waitFor(async () => expect((await health(b.url)).slots.busy).toBe(0));
    expect((await health(b.url)).upstreams[0]?.inFlight).toBe(0);
    up.release();

    // The freed slot serves the next caller (with one slot, a leak would queue it forever).
    const next = await chat(b.url, chatBody());
    expect(next.status).toBe(200);
    const m = await scrape(b.url);
    expect(m.get('bridge_requests_total{route="/v1/chat/completions",status="499"}')).toBe(1);
    // A client leaving is not the upstream's fault.
    expect([...m.keys()].some((k) => k.startsWith("bridge_upstream_failures_total{"))).toBe(false);
  });

  it("ends the stream with an error event when the upstream dies mid-stream", async () => {
    const { up, b } = await setup();
    up.behaviour.dieAfterChunks = 3;
    const res = await chat(b.url, streamBody);
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = text.split("\n\n").filter(Boolean);
    expect(events).toHaveLength(4);
    expect(text.startsWith(up.sent[0] as string)).toBe(true);
    expect(JSON.parse((events[3] as string).slice(6))).toEqual({
      error: {
        message: expect.stringContaining("failed mid-stream"),
        type: "upstream_error",
        param: null,
        code: "upstream_disconnected",
      },
    });
    expect(text).not.toContain("[DONE]");
    const m = await scrape(b.url);
    expect(m.get(`bridge_upstream_failures_total{upstream="${up.url}",reason="reset"}`)).toBe(1);
  });

  it("lets the openai SDK read a bridged stream and raise a mid-stream failure", async () => {
    const { up, b } = await setup();
    const client = new OpenAI({ baseURL: `${b.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(up.behaviour.reply);
    expect(usage?.completion_tokens).toBe(9);

    up.behaviour.dieAfterChunks = 2;
    const broken = await client.chat.completions.create({
      model: "fake-model",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _ of broken) {
          // drain
        }
      })(),
    ).rejects.toThrow(/failed mid-stream/);
  });
});
