// Token usage read from upstream answers (JSON and SSE split at awkward places) and the Prometheus
// text the bridge renders.
import { describe, expect, it } from "vitest";
import { Counter, Histogram, renderGauge } from "../../api/bridge/metrics.ts";
import { SseUsageSniffer, usageFromJson } from "../../api/bridge/usage.ts";

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

describe("prometheus text", () => {
  it("renders counters with escaped labels", () => {
    const c = new Counter("x_total", "Things.");
    c.inc({ route: '/a"b' });
    c.inc({ route: '/a"b' }, 2);
    expect(c.render()).toBe('# HELP x_total Things.\n# TYPE x_total counter\nx_total{route="/a\\"b"} 3\n');
  });

  it("renders cumulative histogram buckets, sum and count", () => {
    const h = new Histogram("lat_seconds", "Latency.", [0.1, 1]);
    for (const v of [0.05, 0.5, 0.5, 5]) h.observe(v);
    expect(h.render()).toBe(
      [
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{le="0.1"} 1',
        'lat_seconds_bucket{le="1"} 3',
        'lat_seconds_bucket{le="+Inf"} 4',
        "lat_seconds_sum 6.05",
        "lat_seconds_count 4",
        "",
      ].join("\n"),
    );
  });

  it("renders gauges", () => {
    expect(renderGauge("g", "G.", [[{ a: "1" }, 2]])).toBe('# HELP g G.\n# TYPE g gauge\ng{a="1"} 2\n');
  });
});
