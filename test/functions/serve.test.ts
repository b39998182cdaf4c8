// /api/inngest in dev mode: introspection counts every function, and a sync (PUT) registers the
// whole functions list with the (fake) Inngest dev server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functions } from "../../functions/index.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { type FakeServer, startFake } from "../fakes/server.ts";

const t = useTestDb();
// Each function with an onFailure handler registers a second function, `<id>-failure`.
const registeredIds = functions.flatMap((f) => {
  const id = `foreman-${f.id()}`;
  return (f as unknown as { opts: { onFailure?: unknown } }).opts.onFailure ? [id, `${id}-failure`] : [id];
});
let devServer: FakeServer;
beforeAll(async () => {
  devServer = await startFake((app) => {
    app.post("/fn/register", (c) => c.json({ ok: true, modified: true }, 200));
  });
  // On Node the Hono adapter reads the process environment; a URL value means dev mode at that URL.
  process.env.INNGEST_DEV = devServer.url;
  process.env.INNGEST_BASE_URL = devServer.url;
});
afterAll(async () => {
  delete process.env.INNGEST_DEV;
  delete process.env.INNGEST_BASE_URL;
  await devServer.close();
});

describe("/api/inngest", () => {
  it("GET introspects in dev mode and counts every registered function", async () => {
    const { app } = testApp(t.current.db);
    const res = await app.request("/api/inngest");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ mode: "dev", function_count: registeredIds.length });
  });

  it("PUT syncs every function (ids and triggers) to the dev server", async () => {
    const { app } = testApp(t.current.db);
    const res = await app.request("http://localhost:8787/api/inngest", { method: "PUT" });
    expect(res.status).toBe(200);
    const [register] = devServer.callsTo("POST", "/fn/register");
    const payload = JSON.parse(register?.body ?? "{}") as {
      appName: string;
      functions: { id: string; triggers: unknown[] }[];
    };
    expect(payload.appName).toBe("foreman");
    expect(payload.functions.map((f) => f.id).sort()).toEqual([...registeredIds].sort());
    const promote = payload.functions.find((f) => f.id === "foreman-promote");
    expect(promote?.triggers).toEqual([
      { event: "task/state.changed", expression: "event.data.to == 'done' || event.data.to == 'cancelled'" },
    ]);
  });
});
