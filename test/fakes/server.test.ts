// The fake-server harness itself: calls are logged, faults apply in order and expire.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeServer, startFake } from "./server.ts";

let fake: FakeServer;
beforeAll(async () => {
  fake = await startFake((app) => {
    app.post("/echo", async (c) => c.json({ got: await c.req.json() }, 201));
  });
});
afterAll(() => fake.close());

describe("fake server", () => {
  it("logs calls and serves real routes", async () => {
    fake.reset();
    const res = await fetch(`${fake.url}/echo?x=1`, { method: "POST", body: JSON.stringify({ a: 1 }) });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ got: { a: 1 } });
    expect(fake.callsTo("POST", "/echo")).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ query: { x: "1" }, body: '{"a":1}' });
  });

  it("injects a status fault a limited number of times, then recovers", async () => {
    fake.reset();
    fake.fail({ status: 429, body: { message: "slow down" }, headers: { "retry-after": "3" }, times: 1 });
    const first = await fetch(`${fake.url}/echo`, { method: "POST", body: "{}" });
    expect(first.status).toBe(429);
    expect(first.headers.get("retry-after")).toBe("3");
    const second = await fetch(`${fake.url}/echo`, { method: "POST", body: "{}" });
    expect(second.status).toBe(201);
  });

  it("drops the connection when asked", async () => {
    fake.reset();
    fake.fail({ drop: true, times: 1 });
    await expect(fetch(`${fake.url}/echo`, { method: "POST", body: "{}" })).rejects.toThrow();
  });
});
