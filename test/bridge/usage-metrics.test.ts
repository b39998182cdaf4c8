// Token usage read from upstream answers (JSON and SSE split at awkward places), the usage-chunk
// stripper for streams the bridge asked usage for, and the Prometheus text prom-client renders.
import { describe, expect, it } from "vitest";
import type { AccountingRecord } from "../../api/bridge/accounting.ts";
import { callerId } from "../../api/bridge/accounting.ts";
import { BridgeMetrics, MAX_MODEL_LABELS } from "../../api/bridge/metrics.ts";
import { SseUsageSniffer, SseUsageStripper, usageFromJson } from "../../api/bridge/usage.ts";

describe("usage", () => {
  it("reads usage from a JSON completion and ignores bodies without it", () => {
    const body = Buffer.from(
      JSON.stringify({ usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }),
    );
    expect(usageFromJson(body)).toEqual({ input: 12, output: 5 });
    expect(usageFromJson(Buffer.from('{"usage":null}'))).toBeUndefined();
    expect(usageFromJson(Buffer.from("not json"))).toBeUndefined();
  });

  it("finds the final usage chunk in an SSE stream however the bytes are split", () => {
    const stream =
      'data: {"choices":[{"delta":{"content":"h\u00e9"}}],"usage":null}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n' +
      "data: [DONE]\n\n";
    const bytes = Buffer.from(stream);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const sniffer = new SseUsageSniffer();
      for (let i = 0; i < bytes.length; i += size) sniffer.push(bytes.subarray(i, i + size));
      expect(sniffer.usage, `split every ${size} bytes`).toEqual({ input: 7, output: 3 });
    }
  });

  it("reports nothing for a stream without usage", () => {
    const sniffer = new SseUsageSniffer();
    sniffer.push(
      Buffer.from('data: {"choices":[{"delta":{"content":"\\"usage\\":{"}}]}\n\ndata: [DONE]\n\n'),
    );
    expect(sniffer.usage).toBeUndefined();
  });
});

const content = (text: string) => `data: {"choices":[{"delta":{"content":${JSON.stringify(text)}}}]}\n\n`;
const usageChunk = 'data: {"id":"x","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3}}\n\n';

function strip(stream: string, size: number, eol = "\n") {
  const bytes = Buffer.from(eol === "\n" ? stream : stream.replace(/\n/g, eol));
  const stripper = new SseUsageStripper();
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(stripper.push(bytes.subarray(i, i + size)));
  out.push(stripper.flush());
  return { text: Buffer.concat(out).toString("utf8"), usage: stripper.usage };
}

describe("usage stripper", () => {
  const before = content("h\u00e9") + content('llo "usage":{ not really');
  const after = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';

  it("removes exactly the usage-only event and keeps every other byte, however the bytes are split", () => {
    const bytes = Buffer.byteLength(before + usageChunk + after);
    for (const size of [1, 2, 3, 5, 64, bytes]) {
      const r = strip(before + after.slice(0, -14) + usageChunk + after.slice(-14), size);
      expect(r.text, `split every ${size} bytes`).toBe(before + after);
      expect(r.usage).toEqual({ input: 7, output: 3 });
    }
  });

  it("handles CRLF line endings", () => {
    const r = strip(before + usageChunk + after, 4, "\r\n");
    expect(r.text).toBe((before + after).replace(/\n/g, "\r\n"));
    expect(r.usage).toEqual({ input: 7, output: 3 });
  });

  it("keeps usage that rides on a chunk with choices (it is read, not removed)", () => {
    const merged =
      'data: {"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}\n\n';
    const r = strip(before + merged + after, 7);
    expect(r.text).toBe(before + merged + after);
    expect(r.usage).toEqual({ input: 2, output: 1 });
  });

  it("hands over a last line without a newline when the stream ends", () => {
    const r = strip(`${before}data: {"choi`, 3);
    expect(r.text).toBe(`${before}data: {"choi`);
  });
});

const record = (over: Partial<AccountingRecord> = {}): AccountingRecord => ({
  requestId: "r1",
  route: "/v1/chat/completions",
  method: "POST",
  caller: callerId("some-token-123"),
  model: "m",
  stream: false,
  status: 200,
  tokensIn: 5,
  tokensOut: 2,
  usageReported: true,
  queueWaitMs: 3,
  latencyMs: 40,
  upstream: "http://u",
  ...over,
});

describe("prometheus text (prom-client)", () => {
  it("derives a short caller id from the token, never the token", () => {
    const id = callerId("some-token-123");
    expect(id).toMatch(/^t-[0-9a-f]{8}$/);
    expect(id).toBe(callerId("some-token-123"));
    expect(id).not.toBe(callerId("some-token-124"));
    expect(id).not.toContain("some-token");
  });

  it("renders escaped labels, cumulative histogram buckets, sums and counts, gauges from live state", async () => {
    const m = new BridgeMetrics();
    m.countRequest('/a"b', "200");
    m.countRequest('/a"b', "200");
    for (const ms of [4, 40, 40, 400_000]) m.account(record({ latencyMs: ms }));
    m.observeLive(() => ({
      slotsBusy: 1,
      slotsTotal: 2,
      queueDepth: 0,
      upstreams: [{ url: "http://u", role: "active", inService: true, inFlight: 1 }],
    }));
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await m.render();
    expect(text).toContain("# TYPE bridge_requests_total counter\n");
    expect(text).toContain('bridge_requests_total{route="/a\\"b",status="200"} 2\n');
    expect(text).toContain('bridge_request_duration_seconds_bucket{le="0.005"} 1\n');
    expect(text).toContain('bridge_request_duration_seconds_bucket{le="0.05"} 3\n');
    expect(text).toContain('bridge_request_duration_seconds_bucket{le="300"} 3\n');
    expect(text).toContain('bridge_request_duration_seconds_bucket{le="+Inf"} 4\n');
    expect(text).toContain("bridge_request_duration_seconds_sum 400.084\n");
    expect(text).toContain("bridge_request_duration_seconds_count 4\n");
    expect(text).toContain('bridge_tokens_total{direction="in"} 20\n');
    expect(text).toContain(
      `bridge_caller_tokens_total{caller="${callerId("some-token-123")}",model="m",direction="out"} 8\n`,
    );
    expect(text).toContain("bridge_slots_busy 1\n");
    expect(text).toContain('bridge_upstream_up{upstream="http://u",role="active"} 1\n');
  });

  it("keeps the model label bounded: past MAX_MODEL_LABELS distinct names, and for absurd ones, 'other'", async () => {
    const m = new BridgeMetrics();
    // An upstream that ignores `model` serves any string a caller sends.
    for (let i = 0; i < 1000; i++) m.account(record({ model: `random-${i}` }));
    m.account(record({ model: "x".repeat(10_000) }));
    m.account(record({ model: "random-0" })); // one already kept stays itself
    const text = await m.render();
    const models = new Set(
      [...text.matchAll(/bridge_caller_tokens_total\{[^}]*model="([^"]*)"/g)].map((x) => x[1]),
    );
    expect(models.size).toBe(MAX_MODEL_LABELS + 1);
    expect(models.has("other")).toBe(true);
    expect(text).toContain(
      `bridge_caller_tokens_total{caller="${callerId("some-token-123")}",model="random-0",direction="in"} 10\n`,
    );
    expect(text).toContain(
      `bridge_caller_tokens_total{caller="${callerId("some-token-123")}",model="other",direction="in"} ${(1000 - MAX_MODEL_LABELS + 1) * 5}\n`,
    );
  });

  it("keeps each bridge's registry to itself", async () => {
    const a = new BridgeMetrics();
    const b = new BridgeMetrics();
    a.countRequest("/x", "200");
    expect(await a.render()).toContain('bridge_requests_total{route="/x",status="200"} 1');
    expect(await b.render()).not.toContain('route="/x"');
  });
});
