// Work a route leaves running past its answer (within: a slow Slack update, a slow send) still has the
// request's resources: on Workers each request opens its own database pool, and the app closes it only
// once that work has settled, not when the answer goes out.
import { describe, expect, it } from "vitest";
import { createApp } from "../../api/app.ts";
import { within } from "../../api/background.ts";
import { useTestDb } from "../db.ts";
import { testApp, testDeps } from "../deps.ts";

const t = useTestDb();

describe("a request's dispose", () => {
  it("waits for the work the route left running past its answer", async () => {
    const { deps } = testDeps(t.current.db);
    const order: string[] = [];
    let finish: () => void = () => undefined;
    let afterResponse: Promise<unknown> | undefined;
    const app = createApp({
      resolveDeps: () => ({
        deps,
        dispose: async () => {
          order.push("dispose");
        },
      }),
      afterResponse: (_c, work) => {
        afterResponse = work;
      },
    });
    app.get("/slow", async (c) => {
      const slow = new Promise<string>((resolve) => {
        finish = () => {
          order.push("work done");
          resolve("late");
        };
      });
      const r = await within(c, slow, 5);
      return c.json({ answered: r ?? "in the background" });
    });
    const res = await app.request("/slow");
    expect(await res.json()).toEqual({ answered: "in the background" });
    order.push("answered");
    await new Promise((r) => setTimeout(r, 20));
    expect(order, "the pool stays open while the work runs").toEqual(["answered"]);
    finish();
    await afterResponse;
    expect(order).toEqual(["answered", "work done", "dispose"]);
  });

  it("answers a submit within its bound while the engine holds the send: recorded, still being sent", async () => {
    const api = testApp(t.current.db);
    api.deps.events = { send: () => new Promise(() => undefined) };
    const started = Date.now();
    const res = await api.request("/api/tasks", { method: "POST", json: { title: "Engine on hold" } });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(((await res.json()) as { warnings?: string[] }).warnings).toEqual([
      "task/submitted is recorded and still being sent to the engine.",
    ]);
  });
});
