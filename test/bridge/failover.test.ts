// Failover end to end: failing actives are taken out and the standby serves, recovered actives take
// the traffic back, a refused or unanswered connection moves a request to the next upstream, and an upstream that
// dies on a request it accepted yields a clear 502 (never a replay).
import { afterEach, describe, expect, it, vi } from "vitest";
import { toTarget, UpstreamClient, UpstreamError } from "../../api/bridge/upstream-http.ts";
import { startBlackhole } from "../fakes/blackhole.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { auth, chat, chatBody, health, scrape, startBridge } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function fleet(actives: number, env: Record<string, string> = {}) {
  const fakes: OpenAIUpstream[] = [];
  for (let i = 0; i <= actives; i++) fakes.push(await startOpenAIUpstream());
  const standby = fakes[actives] as OpenAIUpstream;
  const active = fakes.slice(0, actives);
  const b = await startBridge(
    { active: active.map((f) => f.url), standby: [standby.url] },
    { BRIDGE_FAIL_THRESHOLD: "2", BRIDGE_COOLDOWN_MS: "20", ...env },
  );
  closers.push(async () => {
    await b.close();
    await Promise.all(fakes.map((f) => f.close()));
  });
  return { active, standby, b };
}

const chats = (f: OpenAIUpstream) => f.callsTo("POST", "/v1/chat/completions").length;

async function send(url: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await chat(url, chatBody())).status);
  return out;
}

describe("failover", () => {
  it("moves traffic to the standby while every active is out and back when one recovers", async () => {
    const { active, standby, b } = await fleet(2);
    const [a1, a2] = active as [OpenAIUpstream, OpenAIUpstream];
    expect(await send(b.url, 4)).toEqual([200, 200, 200, 200]);
    expect([chats(a1), chats(a2), chats(standby)]).toEqual([2, 2, 0]);

    for (const a of active) a.fail({ status: 500, body: { error: { message: "CUDA error" } } });
    await b.bridge.checkHealth();
    expect((await health(b.url)).upstreams.map((u) => u.state)).toEqual(["up", "up", "up"]);
    await b.bridge.checkHealth(); // the second failure in a row takes them out
    const during = await health(b.url);
    expect(during.httpStatus).toBe(200);
    expect(during.upstreams.map((u) => [u.state, u.serving])).toEqual([
      ["out", false],
      ["out", false],
      ["up", true],
    ]);
    expect(await send(b.url, 3)).toEqual([200, 200, 200]);
    expect([chats(a1), chats(a2), chats(standby)]).toEqual([2, 2, 3]);

    a2.clearFaults(); // the probe at the end of its cooldown brings it back
    await vi.waitFor(async () => expect((await health(b.url)).upstreams[1]?.state).toBe("up"));
    expect(await send(b.url, 3)).toEqual([200, 200, 200]);
    expect([chats(a1), chats(a2), chats(standby)]).toEqual([2, 5, 3]);
    expect(b.logs.filter((l) => l.event === "upstream_in_service").map((l) => l.fields?.upstream)).toContain(
      a2.url,
    );
  });

  it("probes on the configured interval without being asked", async () => {
    const { active, b } = await fleet(1, { BRIDGE_HEALTH_INTERVAL_MS: "10", BRIDGE_COOLDOWN_MS: "60000" });
    (active[0] as OpenAIUpstream).fail({ status: 503 });
    await vi.waitFor(async () => expect((await health(b.url)).upstreams[0]?.state).toBe("out"));
  });

  it("sends a request on to the next upstream when one refuses the connection", async () => {
    const { active, standby, b } = await fleet(1, { BRIDGE_COOLDOWN_MS: "60000" });
    await b.bridge.checkHealth(); // the start-up round is over: the active is in service
    const a = active[0] as OpenAIUpstream;
    await a.close(); // nothing listens on its port any more
    a.close = async () => {};
    const res = await chat(b.url, chatBody());
    expect(res.status).toBe(200);
    expect(chats(standby)).toBe(1);
    expect((await health(b.url)).upstreams[0]?.state).toBe("out");
    const failures = await scrape(b.url);
    expect(failures.get(`bridge_upstream_failures_total{upstream="${a.url}",reason="connect"}`)).toBe(1);
  });

  it("sends a request on to the next upstream within the connect timeout when one never answers the connection", async () => {
    const hole = await startBlackhole();
    const standby = await startOpenAIUpstream();
    const b = await startBridge(
      { active: [hole.url], standby: [standby.url] },
      { BRIDGE_CONNECT_TIMEOUT_MS: "150", BRIDGE_TIMEOUT_MS: "20000", BRIDGE_COOLDOWN_MS: "60000" },
    );
    closers.push(async () => {
      await b.close();
      await Promise.all([hole.close(), standby.close()]);
    });
    const started = Date.now();
    const res = await chat(b.url, chatBody());
    const tookMs = Date.now() - started;
    expect(res.status).toBe(200);
    expect(chats(standby)).toBe(1);
    expect(tookMs).toBeLessThan(5_000); // the connect timeout, not the 20 s idle timeout
    const active = (await health(b.url)).upstreams[0];
    expect(active?.state).toBe("out");
    // The start-up probe may meet the hole first; either way it is out for a connect failure.
    const failures = await scrape(b.url);
    expect(
      failures.get(`bridge_upstream_failures_total{upstream="${hole.url}",reason="connect"}`),
    ).toBeGreaterThan(0);
  });

  it("fails a request that gets no connection as connect (reached nobody) after the connect timeout", async () => {
    const hole = await startBlackhole();
    const client = new UpstreamClient({ connectTimeoutMs: 150 });
    closers.push(async () => {
      client.close();
      await hole.close();
    });
    const started = Date.now();
    const err = await client
      .request(toTarget(hole.url), { method: "GET", path: "/v1/models", headers: {}, timeoutMs: 20_000 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: "connect", message: "no connection within 150 ms" });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("answers 503 + Retry-After when no upstream is in service", async () => {
    const { active, standby, b } = await fleet(1, { BRIDGE_COOLDOWN_MS: "60000" });
    for (const f of [...active, standby]) f.fail({ status: 500 });
    await b.bridge.checkHealth();
    await b.bridge.checkHealth();
    const h = await health(b.url);
    expect([h.httpStatus, h.status]).toEqual([503, "unavailable"]);
    const res = await chat(b.url, chatBody());
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_upstream");
    expect(chats(standby)).toBe(0);
  });

  it("answers 502 when the upstream dies while working on the request", async () => {
    const { active, standby, b } = await fleet(1);
    const a = active[0] as OpenAIUpstream;
    a.fail({ match: (c) => c.path === "/v1/chat/completions", delayMs: 10, drop: true, times: 1 });
    const res = await chat(b.url, chatBody());
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringContaining("failed while handling the request"),
        type: "upstream_error",
        param: null,
        code: "upstream_disconnected",
      },
    });
    expect([chats(a), chats(standby)]).toEqual([1, 0]); // not replayed anywhere
  });

  it("answers 502 when the upstream dies halfway through its answer", async () => {
    const { active, b } = await fleet(1);
    (active[0] as OpenAIUpstream).behaviour.cutBodyAfterBytes = 40;
    const res = await chat(b.url, chatBody());
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_disconnected");
  });

  it("answers 504 when the upstream goes silent, and gives up on it", async () => {
    const { active, b } = await fleet(1, { BRIDGE_TIMEOUT_MS: "50" });
    const a = active[0] as OpenAIUpstream;
    a.hold();
    const res = await chat(b.url, chatBody());
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
    await vi.waitFor(() => expect(a.stats.aborted).toBe(1));
    a.release();
  });

  it("passes an upstream's own error answer through and counts a 5xx as a failure", async () => {
    const { active, b } = await fleet(1);
    const a = active[0] as OpenAIUpstream;
    const notFound = await chat(b.url, chatBody({ model: "no-such-model" }));
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as { error: { message: string } }).error.message).toContain(
      "no-such-model",
    );
    a.fail({ status: 500, body: { error: { message: "boom" } }, times: 2 });
    expect(await send(b.url, 2)).toEqual([500, 500]);
    expect((await health(b.url)).upstreams[0]?.state).toBe("out");
  });

  it("lists models from the upstreams serving traffic", async () => {
    const { active, standby, b } = await fleet(1, { BRIDGE_COOLDOWN_MS: "60000" });
    standby.behaviour.model = "standby-model";
    const list = async () =>
      (
        (await (await fetch(`${b.url}/v1/models`, { headers: auth() })).json()) as {
          data: Array<{ id: string }>;
        }
      ).data.map((m) => m.id);
    expect(await list()).toEqual(["fake-model"]);
    (active[0] as OpenAIUpstream).fail({ status: 500 });
    await b.bridge.checkHealth();
    await b.bridge.checkHealth();
    expect(await list()).toEqual(["standby-model"]);
  });
});
