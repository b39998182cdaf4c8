// Streams counted without the client's help (include_usage added upstream, the extra chunk stripped
// unless the client asked for it), one accounting record per request with its caller label, and
// /metrics rendered by prom-client aggregating those records.
import { afterEach, describe, expect, it, vi } from "vitest";
import { callerId } from "../../api/bridge/accounting.ts";
import { parseBridgeEnv } from "../../api/bridge/config.ts";
import { createBridge } from "../../api/bridge/server.ts";
import { startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { auth, chat, chatBody, health, scrape, startBridge, TOKEN } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup(env: Record<string, string> = {}) {
  const up = await startOpenAIUpstream();
  const b = await startBridge({ active: [up.url] }, { BRIDGE_TOKENS: `${TOKEN},second-token-456`, ...env });
  closers.push(async () => {
    up.release();
    await b.close();
    await up.close();
  });
  return { up, b };
}

const events = (text: string) => text.split("\n\n").filter(Boolean);
const isUsageOnly = (e: string) =>
  e.startsWith("data: {") && e.includes('"choices":[]') && e.includes('"usage"');
const caller = callerId(TOKEN);

describe("streamed usage without the client's help", () => {
  it("asks upstream for usage, strips the usage chunk the client did not ask for, and counts it", async () => {
    const { up, b } = await setup();
    const res = await chat(b.url, chatBody({ stream: true }));
    expect(res.status).toBe(200);
    const received = await res.text();
    // Upstream was asked for usage, with the rest of the request untouched.
    expect(up.requests[0]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(up.requests[0]?.messages).toEqual(chatBody().messages);
    // The client got every byte the upstream sent except the one usage-only event.
    const sent = up.sent[0] as string;
    const usageEvents = events(sent).filter(isUsageOnly);
    expect(usageEvents).toHaveLength(1);
    expect(received).toBe(sent.replace(`${usageEvents[0]}\n\n`, ""));
    expect(events(received).some(isUsageOnly)).toBe(false);
    expect(events(received).at(-1)).toBe("data: [DONE]");
    // …and the tokens were counted anyway.
    await vi.waitFor(() => expect(b.records).toHaveLength(1));
    expect(b.records[0]).toMatchObject({ stream: true, tokensIn: 14, tokensOut: 9, usageReported: true });
    const m = await scrape(b.url);
    expect(m.get('bridge_tokens_total{direction="in"}')).toBe(14);
    expect(m.get('bridge_tokens_total{direction="out"}')).toBe(9);
  });

  it("treats include_usage: false like no stream_options, keeping the client's other options", async () => {
    const { up, b } = await setup();
    const res = await chat(b.url, chatBody({ stream: true, stream_options: { include_usage: false, x: 1 } }));
    const received = await res.text();
    expect(up.requests[0]?.stream_options).toEqual({ include_usage: true, x: 1 });
    expect(events(received).some(isUsageOnly)).toBe(false);
    await vi.waitFor(() => expect(b.records[0]?.tokensOut).toBe(9));
  });

  it("passes the stream through unchanged, in the client's own bytes, when the client asked", async () => {
    const { up, b } = await setup();
    const raw = JSON.stringify(chatBody({ stream: true, stream_options: { include_usage: true } }));
    const received = await (await chat(b.url, raw)).text();
    expect(up.callsTo("POST", "/v1/chat/completions")[0]?.body).toBe(raw);
    expect(received).toBe(up.sent[0]);
    expect(events(received).filter(isUsageOnly)).toHaveLength(1);
    await vi.waitFor(() => expect(b.records).toHaveLength(1));
    expect(b.records[0]).toMatchObject({ tokensIn: 14, tokensOut: 9, usageReported: true });
  });

  it("leaves non-streamed requests in the client's own bytes", async () => {
    const { up, b } = await setup();
    const raw = '{"model":"fake-model","messages":[{"role":"user","content":"hi"}],"stream":false}';
    expect((await chat(b.url, raw)).status).toBe(200);
    expect(up.callsTo("POST", "/v1/chat/completions")[0]?.body).toBe(raw);
  });
});

describe("one accounting record per request", () => {
  it("records success, 4xx, 5xx and a client that left, each once, with its caller label", async () => {
    const { up, b } = await setup({ BRIDGE_SLOTS: "1" });
    expect((await chat(b.url, chatBody())).status).toBe(200);
    expect((await chat(b.url, chatBody(), { headers: auth("second-token-456") })).status).toBe(200);
    expect((await chat(b.url, "{nope")).status).toBe(400);
    expect((await chat(b.url, chatBody(), { headers: auth("wrong-token-000") })).status).toBe(401);
    expect((await chat(b.url, chatBody({ model: "no-such-model" }))).status).toBe(404);
    up.fail({ status: 500, body: { error: { message: "CUDA error" } }, times: 1 });
    expect((await chat(b.url, chatBody())).status).toBe(500);

    // A streaming client that leaves mid-generation: 499.
    up.hold(1);
    const ac = new AbortController();
    const res = await chat(b.url, chatBody({ stream: true }), { signal: ac.signal });
    await (res.body as ReadableStream<Uint8Array>).getReader().read();
    ac.abort();
    await vi.waitFor(async () => expect((await health(b.url)).slots.busy).toBe(0));
    up.release();
    await scrape(b.url); // monitoring routes leave no record
    await vi.waitFor(() => expect(b.records).toHaveLength(7));

    const summary = b.records.map((r) => [r.status, r.caller, r.tokensIn > 0, r.queueWaitMs !== null]);
    expect(summary).toEqual([
      [200, caller, true, true],
      [200, callerId("second-token-456"), true, true],
      [400, caller, false, false],
      [401, "anonymous", false, false],
      [404, caller, false, true],
      [500, caller, false, true],
      [499, caller, false, true],
    ]);
    const first = b.records[0];
    expect(first).toMatchObject({
      route: "/v1/chat/completions",
      method: "POST",
      model: "fake-model",
      stream: false,
      upstream: up.url,
      tokensIn: 14,
      tokensOut: 9,
    });
    expect(first?.latencyMs).toBeGreaterThan(0);
    expect(first?.requestId).toMatch(/^[\w-]+$/);
    expect(new Set(b.records.map((r) => r.requestId)).size).toBe(7);
    // The token never appears in a record.
    expect(JSON.stringify(b.records)).not.toContain(TOKEN);
    expect(JSON.stringify(b.records)).not.toContain("second-token-456");

    const m = await scrape(b.url);
    expect(m.get(`bridge_caller_requests_total{caller="${caller}",status="200"}`)).toBe(1);
    expect(m.get(`bridge_caller_requests_total{caller="${caller}",status="499"}`)).toBe(1);
    expect(m.get('bridge_caller_requests_total{caller="anonymous",status="401"}')).toBe(1);
    expect(m.get(`bridge_caller_tokens_total{caller="${caller}",model="fake-model",direction="in"}`)).toBe(
      14,
    );
    expect(m.get('bridge_tokens_total{direction="in"}')).toBe(28);
    expect(m.get("bridge_request_duration_seconds_count")).toBe(7);
    expect(m.get("bridge_queue_wait_seconds_count")).toBe(5);
  });

  it("logs each record as a structured 'request' line by default, without the token", async () => {
    const up = await startOpenAIUpstream();
    const config = parseBridgeEnv({
      BRIDGE_UPSTREAMS: up.url,
      BRIDGE_TOKENS: TOKEN,
      BRIDGE_HEALTH_INTERVAL_MS: "0",
    });
    const logs: Array<{ event: string; fields?: Record<string, unknown> }> = [];
    const bridge = createBridge(config, { log: (event, fields) => logs.push({ event, fields }) });
    const url = await bridge.listen(0, "127.0.0.1");
    closers.push(async () => {
      await bridge.close(0);
      await up.close();
    });
    expect((await chat(url, chatBody())).status).toBe(200);
    await vi.waitFor(() => expect(logs.filter((l) => l.event === "request")).toHaveLength(1));
    expect(logs.find((l) => l.event === "request")?.fields).toMatchObject({
      caller,
      status: 200,
      tokensIn: 14,
    });
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });
});

describe("/metrics via prom-client", () => {
  it("serves the Prometheus text format, parseable line by line", async () => {
    const { b } = await setup();
    await chat(b.url, chatBody());
    const res = await fetch(`${b.url}/metrics`, { headers: auth() });
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const sample =
      /^[a-zA-Z_:][\w:]*(\{([a-zA-Z_]\w*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|\+Inf|NaN)$/;
    const types = new Map<string, string>();
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const typed = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
      if (typed) types.set(typed[1] as string, typed[2] as string);
      else if (!line.startsWith("# HELP ")) expect(line).toMatch(sample);
    }
    expect(Object.fromEntries(types)).toMatchObject({
      bridge_requests_total: "counter",
      bridge_tokens_total: "counter",
      bridge_caller_requests_total: "counter",
      bridge_caller_tokens_total: "counter",
      bridge_upstream_failures_total: "counter",
      bridge_request_duration_seconds: "histogram",
      bridge_queue_wait_seconds: "histogram",
      bridge_slots_busy: "gauge",
      bridge_slots_total: "gauge",
      bridge_queue_depth: "gauge",
      bridge_upstream_up: "gauge",
      bridge_upstream_in_flight: "gauge",
    });
    // No default process metrics leak in from prom-client's global registry.
    expect(text).not.toContain("process_cpu");
  });
});
