// Graceful shutdown: stop accepting, refuse the queue with 503 (not started, safe to retry), let
// in-flight requests finish, and cut whatever is still running at the deadline.
import { afterEach, describe, expect, it, vi } from "vitest";
import { startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { chat, chatBody, health, startBridge } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup() {
  const up = await startOpenAIUpstream();
  const b = await startBridge({ active: [up.url] }, { BRIDGE_SLOTS: "1" });
  closers.push(async () => {
    up.release();
    await b.close();
    await up.close();
  });
  return { up, b };
}

describe("graceful shutdown", () => {
  it("drains in-flight requests, refuses queued ones and stops accepting", async () => {
    const { up, b } = await setup();
    up.hold();
    const inFlight = chat(b.url, chatBody());
    await vi.waitFor(() => expect(up.stats.inFlight).toBe(1));
    const queued = chat(b.url, chatBody());
    await vi.waitFor(async () => expect((await health(b.url)).queue.depth).toBe(1));

    let closed = false;
    const closing = b.bridge.close(10_000).then(() => {
      closed = true;
    });
    const refused = await queued;
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("2");
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("shutting_down");
    await expect(fetch(`${b.url}/health`)).rejects.toThrow();
    expect(closed).toBe(false);

    up.release();
    const done = await inFlight;
    expect(done.status).toBe(200);
    expect(((await done.json()) as { object: string }).object).toBe("chat.completion");
    await closing;
    expect(up.stats.aborted).toBe(0);
  });

  it("cuts requests still running at the deadline and aborts them upstream", async () => {
    const { up, b } = await setup();
    up.hold();
    const stuck = chat(b.url, chatBody()).then(
      (r) => r.status,
      () => "connection closed",
    );
    await vi.waitFor(() => expect(up.stats.inFlight).toBe(1));
    await b.bridge.close(20);
    expect(await stuck).toBe("connection closed");
    await vi.waitFor(() => expect(up.stats.aborted).toBe(1));
    expect(b.logs.find((l) => l.event === "stopped")?.fields).toEqual({ cut: 1 });
  });
});
