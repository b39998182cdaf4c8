// The lean event API call against the SDK's own: the same URL, key, headers and events reach a
// recording fake whichever sends them, over fetch and over the Node transport; refusals throw with the
// SDK's wording; an invalid payload or a missing cloud key sends nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inngest, inngestSender } from "../../functions/client.ts";
import { type FakeInngest, startFakeInngest } from "../../test/fakes/inngest.ts";
import { loadConfig } from "../config.ts";
import { taskSubmitted } from "../events.ts";
import { eventApiTarget, fetchPost, fetchPostWithin, sendToEventApi } from "./event-api.ts";
import { nodePost } from "./node-post.ts";

let engine: FakeInngest;
beforeAll(async () => {
  engine = await startFakeInngest();
});
afterAll(async () => {
  await engine?.close();
});

const config = (extra: Record<string, string> = {}) =>
  loadConfig({ INNGEST_DEV: engine.url, FOREMAN_API_TOKEN: "t".repeat(24), ...extra }, "node");
const events = (tag: string) => [
  taskSubmitted.create({ taskId: `task_${tag}1`, source: "api" }, { id: `task-submitted:task_${tag}1` }),
  taskSubmitted.create({ taskId: `task_${tag}2`, source: "hubspot" }, { id: `task-submitted:task_${tag}2` }),
];
const lastSend = () => {
  const calls = engine.callsTo("POST", /^\/e\//);
  const call = calls[calls.length - 1];
  if (!call) throw new Error("no send reached the fake");
  return { ...call, events: JSON.parse(call.body) as Record<string, unknown>[] };
};
/** What must match between two sends of the same events. */
const shape = (call: ReturnType<typeof lastSend>) => ({
  path: call.path,
  contentType: call.headers["content-type"],
  sdk: call.headers["x-inngest-sdk"],
  env: call.headers["x-inngest-env"],
  events: call.events.map(({ ts, ...rest }) => ({ ...rest, ts: typeof ts }) as Record<string, unknown>),
});

describe("the outbox's event API call", () => {
  for (const [transport, post] of [
    ["fetch", fetchPost],
    ["node:http", nodePost],
  ] as const) {
    it(`sends what inngest.send sends (${transport}), with and without an event key`, async () => {
      for (const extra of [{}, { INNGEST_EVENT_KEY: "evkey_0123456789" }] as Record<string, string>[]) {
        const sender = inngestSender(config(extra), { post });
        await inngest.send(events("a"));
        const bySdk = shape(lastSend());
        const res = await sender.send(events("a"));
        const byUs = shape(lastSend());
        expect(byUs).toEqual(bySdk);
        expect(byUs.path).toBe(`/e/${extra.INNGEST_EVENT_KEY ?? "NO_EVENT_KEY_SET"}`);
        expect(byUs.events.map((e) => e.id)).toEqual(["task-submitted:task_a1", "task-submitted:task_a2"]);
        expect(res.ids).toEqual(["task-submitted:task_a1", "task-submitted:task_a2"]);
      }
    });
  }

  it("gives up on an engine that takes the connection and never answers (fetch, as on Workers)", async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    engine.fail({ match: (c) => c.path.startsWith("/e/"), hold: () => held });
    try {
      const sender = inngestSender(config(), { post: fetchPostWithin(50) });
      const started = Date.now();
      await expect(sender.send(events("h"))).rejects.toThrow(/timeout|aborted/i);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      release();
      engine.clearFaults();
    }
  });

  it("throws the engine's refusal, in the SDK's words when it gives none", async () => {
    const sender = inngestSender(config(), { post: nodePost });
    engine.eventsDown();
    try {
      await expect(sender.send(events("b"))).rejects.toThrow("internal server error");
    } finally {
      engine.eventsUp();
    }
    engine.fail({ match: (c) => c.path.startsWith("/e/"), status: 401, body: {} });
    try {
      await expect(sender.send(events("b"))).rejects.toThrow("Event key Not Found");
    } finally {
      engine.clearFaults();
    }
    engine.fail({ match: (c) => c.path.startsWith("/e/"), status: 502, body: "<html>bad gateway</html>" });
    try {
      await expect(sender.send(events("b"))).rejects.toThrow("bad gateway");
    } finally {
      engine.clearFaults();
    }
  });

  it("sends nothing for an invalid payload, or in cloud mode without an event key", async () => {
    const before = engine.callsTo("POST", /^\/e\//).length;
    const sender = inngestSender(config(), { post: nodePost });
    const bad = taskSubmitted.create({ taskId: "task_x", source: "fax" } as never, { id: "bad-1" });
    await expect(sender.send([bad])).rejects.toThrow();
    const cloud = eventApiTarget({
      eventBaseUrl: engine.url,
      eventKey: undefined,
      headers: {},
      mode: "cloud",
    });
    await expect(sendToEventApi(cloud, events("c"), nodePost)).rejects.toThrow("INNGEST_EVENT_KEY");
    expect(engine.callsTo("POST", /^\/e\//).length).toBe(before);
  });
});
