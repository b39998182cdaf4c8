// The upstream pool's rules on their own, with an injected clock: K failures in a row take an upstream
// out, a refused connection takes it out at once, cooldowns, the standby tier, least-loaded picking.
import { describe, expect, it } from "vitest";
import type { UpstreamConfig } from "../../api/bridge/config.ts";
import { UpstreamPool } from "../../api/bridge/upstreams.ts";

const cfg = (url: string, role: "active" | "standby" = "active"): UpstreamConfig => ({
  url,
  role,
  guidedJson: false,
});

function pool(configs: UpstreamConfig[]) {
  let now = 1_000;
  const changes: string[] = [];
  const p = new UpstreamPool(configs, {
    failThreshold: 3,
    cooldownMs: 100,
    now: () => now,
    onChange: (u, change) => changes.push(`${u.url}:${change}`),
  });
  return { p, changes, advance: (ms: number) => (now += ms) };
}

describe("UpstreamPool", () => {
  it("takes an upstream out after K consecutive failures; a success in between resets the count", () => {
    const { p, changes } = pool([cfg("http://a")]);
    const a = p.all[0];
    if (!a) throw new Error("no upstream");
    p.recordFailure(a, "health", "x");
    p.recordFailure(a, "health", "x");
    p.recordSuccess(a);
    p.recordFailure(a, "status", "x");
    p.recordFailure(a, "reset", "x");
    expect(a.inService).toBe(true);
    p.recordFailure(a, "timeout", "x");
    expect(a.inService).toBe(false);
    expect(changes).toEqual(["http://a:out"]);
  });

  it("takes an upstream out at once when it refuses connections", () => {
    const { p } = pool([cfg("http://a")]);
    p.recordFailure(p.all[0] as never, "connect", "ECONNREFUSED");
    expect(p.all[0]?.inService).toBe(false);
  });

  it("keeps an upstream out for its cooldown, then a probe decides", () => {
    const { p, changes, advance } = pool([cfg("http://a")]);
    const a = p.all[0] as (typeof p.all)[number];
    p.recordFailure(a, "connect", "x");
    expect(p.msUntilNextRetry()).toBe(100);
    expect(p.probeDue(a)).toBe(false);
    p.recordSuccess(a); // a late success inside the cooldown does not cut it short
    expect(a.inService).toBe(false);
    advance(100);
    expect(p.probeDue(a)).toBe(true);
    p.recordFailure(a, "health", "still down"); // a failed probe: a new cooldown at once
    expect(p.msUntilNextRetry()).toBe(100);
    advance(100);
    p.recordSuccess(a);
    expect(a.inService).toBe(true);
    expect(changes).toEqual(["http://a:out", "http://a:cooldown", "http://a:in"]);
  });

  it("serves from the standby only while every active is out", () => {
    const { p } = pool([cfg("http://a"), cfg("http://b"), cfg("http://s", "standby")]);
    const [a, b] = p.all;
    expect(p.serving().map((u) => u.url)).toEqual(["http://a", "http://b"]);
    p.recordFailure(a as never, "connect", "x");
    expect(p.serving().map((u) => u.url)).toEqual(["http://b"]);
    p.recordFailure(b as never, "connect", "x");
    expect(p.serving().map((u) => u.url)).toEqual(["http://s"]);
    expect(p.pick()?.url).toBe("http://s");
  });

  it("picks the least loaded serving upstream and rotates between equals", () => {
    const { p } = pool([cfg("http://a"), cfg("http://b")]);
    const [a, b] = p.all as [(typeof p.all)[number], (typeof p.all)[number]];
    a.inFlight = 2;
    expect(p.pick()).toBe(b);
    a.inFlight = 0;
    const picks = new Set([p.pick()?.url, p.pick()?.url]);
    expect(picks).toEqual(new Set(["http://a", "http://b"]));
    expect(p.pick(new Set([a]))).toBe(b);
    expect(p.pick(new Set([a, b]))).toBeUndefined();
  });
});
