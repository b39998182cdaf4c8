// BRIDGE_* parsing: defaults, normalisation, and one error that names every bad variable at once.
import { describe, expect, it } from "vitest";
import { parseBridgeEnv } from "../../api/bridge/config.ts";
import { DomainError } from "../../lib/errors.ts";

const minimal = { BRIDGE_UPSTREAMS: "http://gpu-a:8000", BRIDGE_TOKENS: "a-long-token" };

function failure(env: Record<string, string | undefined>): DomainError {
  try {
    parseBridgeEnv(env);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected the configuration to be refused");
}

describe("parseBridgeEnv", () => {
  it("applies the documented defaults", () => {
    const c = parseBridgeEnv(minimal);
    expect(c).toMatchObject({
      host: "127.0.0.1",
      port: 8788,
      slots: 2,
      slotsPerUpstream: false,
      queue: 32,
      healthIntervalMs: 5000,
      healthPath: "/v1/models",
      failThreshold: 3,
      upstreamApiKey: undefined,
    });
    expect(c.upstreams).toEqual([{ url: "http://gpu-a:8000", role: "active", guidedJson: false }]);
  });

  it("normalises URLs, splits lists and marks vLLM guided_json upstreams", () => {
    const c = parseBridgeEnv({
      BRIDGE_UPSTREAMS: " http://gpu-a:8000/v1/ , http://gpu-b:8000 ",
      BRIDGE_STANDBY: "http://cpu:8080/v1",
      BRIDGE_VLLM_GUIDED_JSON: "http://gpu-b:8000/v1",
      BRIDGE_TOKENS: "old-token-1,new-token-2",
      BRIDGE_SLOTS: "4",
      BRIDGE_SLOTS_PER_UPSTREAM: "true",
      BRIDGE_QUEUE: "",
    });
    expect(c.upstreams).toEqual([
      { url: "http://gpu-a:8000", role: "active", guidedJson: false },
      { url: "http://gpu-b:8000", role: "active", guidedJson: true },
      { url: "http://cpu:8080", role: "standby", guidedJson: false },
    ]);
    expect(c.tokens).toEqual(["old-token-1", "new-token-2"]);
    expect(c.slots).toBe(4);
    expect(c.slotsPerUpstream).toBe(true);
    expect(c.queue).toBe(32);
  });

  it("refuses with one message that lists every bad variable", () => {
    const err = failure({
      BRIDGE_UPSTREAMS: "ftp://nope",
      BRIDGE_TOKENS: "short",
      BRIDGE_SLOTS: "0",
      BRIDGE_PORT: "99999",
      BRIDGE_QUEUE_TIMEOUT_MS: "soon",
    });
    expect(err.code).toBe("CONFIG");
    for (const name of [
      "BRIDGE_UPSTREAMS",
      "BRIDGE_TOKENS",
      "BRIDGE_SLOTS",
      "BRIDGE_PORT",
      "BRIDGE_QUEUE_TIMEOUT_MS",
    ]) {
      expect(err.message).toContain(name);
    }
    expect(err.details?.variables).toHaveLength(5);
  });

  it("requires upstreams and tokens", () => {
    const err = failure({});
    expect(err.message).toContain("BRIDGE_UPSTREAMS");
    expect(err.message).toContain("BRIDGE_TOKENS");
  });

  it("refuses a guided_json marker for an unknown upstream and a duplicated upstream", () => {
    const err = failure({
      ...minimal,
      BRIDGE_STANDBY: "http://gpu-a:8000/v1",
      BRIDGE_VLLM_GUIDED_JSON: "http://elsewhere:8000",
    });
    expect(err.message).toContain("listed twice");
    expect(err.message).toContain("BRIDGE_VLLM_GUIDED_JSON: http://elsewhere:8000 is not in");
  });
});
