// The documented manual flow, as processes: the fake-upstream script, then `npm run bridge`
// (api/bridge/main.ts) in front of it, answering a chat completion, /health and /metrics, and
// draining cleanly on SIGTERM.
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../net.ts";
import { killAll, startNode } from "../process.ts";

afterAll(killAll);

const LISTENING = /"event":"listening","url":"([^"]+)"/;
const run = (args: string[], env: Record<string, string> = {}) =>
  startNode(args, { env: { ...process.env, ...env }, ready: LISTENING });

describe("npm run bridge with the documented fake upstream", () => {
  it("answers a chat completion, /health and /metrics, then drains on SIGTERM", async () => {
    const upstream = run(["api/bridge/fake-upstream.ts", "--port", "0", "--model", "fake-model"]);
    const upstreamUrl = (await upstream.ready)[1] as string;
    const port = await freePort();
    const bridge = run(["api/bridge/main.ts"], {
      BRIDGE_UPSTREAMS: upstreamUrl,
      BRIDGE_TOKENS: "dev-token-123",
      BRIDGE_PORT: String(port),
    });
    const url = (await bridge.ready)[1] as string;

    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer dev-token-123", "content-type": "application/json" },
      body: JSON.stringify({ model: "fake-model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    const completion = (await res.json()) as { choices: { message: { content: string } }[]; usage: object };
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
    expect(completion.usage).toMatchObject({ prompt_tokens: expect.any(Number) });

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer dev-token-123" } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^bridge_requests_total\{.*status="200".*\} 1$/m);

    bridge.child.kill("SIGTERM");
    expect(await bridge.exited).toBe(0);
    upstream.child.kill("SIGTERM");
    await upstream.exited;
  }, 30_000);
});
