// Slots and queue end to end: the upstream never sees more requests in flight than there are slots,
// and overload is refused with 503 + Retry-After instead of piling up. The fake upstream holds
// requests until released, so "in flight" is observed directly rather than inferred from timing.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { chat, chatBody, health, startBridge, type TestBridge } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup(env: Record<string, string>, upstreams = 1) {
  const fakes: OpenAIUpstream[] = [];
  for (let i = 0; i < upstreams; i++) fakes.push(await startOpenAIUpstream());
  const b = await startBridge({ active: fakes.map((f) => f.url) }, env);
  closers.push(async () => {
    for (const f of fakes) f.release();
    await b.close();
    await Promise.all(fakes.map((f) => f.close()));
  });
  return { fakes, b };
}

const queueDepth = async (b: TestBridge, depth: number) =>
  vi.waitFor(async () => expect((await health(b.url)).queue.depth).toBe(depth), {
    timeout: 5000,
    interval: 5,
  });

describe("slots and queue", () => {
  it("keeps at most N requests in flight upstream under 200 concurrent requests", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "4", BRIDGE_QUEUE: "300" });
    const up = fakes[0] as OpenAIUpstream;
    up.hold();
    const all = Array.from({ length: 200 }, () => chat(b.url, chatBody()));
    await queueDepth(b, 196);
    expect(up.stats.inFlight).toBe(4);
    expect((await health(b.url)).slots).toEqual({ busy: 4, total: 4 });
    up.release();
    const statuses = await Promise.all(all.map(async (r) => (await r).status));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(up.stats.completed).toBe(200);
    expect(up.stats.maxInFlight).toBe(4);
  });

  it("refuses with 503 + Retry-After when the queue is full, without forwarding", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "2", BRIDGE_QUEUE: "3", BRIDGE_RETRY_AFTER_S: "7" });
    const up = fakes[0] as OpenAIUpstream;
    up.hold();
    const admitted = Array.from({ length: 5 }, () => chat(b.url, chatBody()));
    await queueDepth(b, 3);
    const refused = await chat(b.url, chatBody());
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("7");
    expect(await refused.json()).toEqual({
      error: {
        message: expect.stringContaining("queue is full"),
        type: "server_error",
        param: null,
        code: "queue_full",
      },
    });
    expect(up.callsTo("POST", "/v1/chat/completions")).toHaveLength(2);
    up.release();
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it("refuses a request whose queue wait expires with 503 + Retry-After", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "1", BRIDGE_QUEUE_TIMEOUT_MS: "30" });
    const up = fakes[0] as OpenAIUpstream;
    up.hold();
    const first = chat(b.url, chatBody());
    await vi.waitFor(() => expect(up.stats.inFlight).toBe(1));
    const late = await chat(b.url, chatBody());
    expect(late.status).toBe(503);
    expect(late.headers.get("retry-after")).toBe("2");
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("queue_timeout");
    up.release();
    expect((await first).status).toBe(200);
  });

  it("frees the queue place of a client that disconnects while waiting", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "1" });
    const up = fakes[0] as OpenAIUpstream;
    up.hold();
    const first = chat(b.url, chatBody());
    const ac = new AbortController();
    const gone = chat(b.url, chatBody(), { signal: ac.signal }).catch((e: unknown) => e);
    await queueDepth(b, 1);
    ac.abort();
    await gone;
    await queueDepth(b, 0);
    up.release();
    expect((await first).status).toBe(200);
    expect(up.callsTo("POST", "/v1/chat/completions")).toHaveLength(1);
  });

  it("frees the slot and aborts upstream when a client leaves a request in flight", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "1" });
    const up = fakes[0] as OpenAIUpstream;
    up.hold();
    const ac = new AbortController();
    const gone = chat(b.url, chatBody(), { signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(up.stats.inFlight).toBe(1));
    ac.abort();
    await gone;
    await vi.waitFor(() => expect(up.stats.aborted).toBe(1));
    await vi.waitFor(async () => expect((await health(b.url)).slots.busy).toBe(0));
    up.release();
    expect((await chat(b.url, chatBody())).status).toBe(200);
  });

  it("in per-upstream mode gives each upstream its own N slots", async () => {
    const { fakes, b } = await setup({ BRIDGE_SLOTS: "2", BRIDGE_SLOTS_PER_UPSTREAM: "true" }, 2);
    for (const f of fakes) f.hold();
    const all = Array.from({ length: 10 }, () => chat(b.url, chatBody()));
    await queueDepth(b, 6);
    expect(fakes.map((f) => f.stats.inFlight)).toEqual([2, 2]);
    expect((await health(b.url)).slots).toEqual({ busy: 4, total: 4 });
    for (const f of fakes) f.release();
    expect((await Promise.all(all)).every((r) => r.status === 200)).toBe(true);
    expect(fakes.map((f) => f.stats.maxInFlight)).toEqual([2, 2]);
  });
});
