// A fake Inngest event API (dev-server shape): `POST /e/:key` takes one event or an array and answers
// `{ ids, status: 200 }`, as the SDK's send expects. It counts accepted deliveries per event id, and
// `down()` makes it answer 500 like an engine that is unreachable behind a proxy.
import { type FakeServer, startFake } from "./server.ts";

export interface FakeEventApi {
  server: FakeServer;
  url: string;
  /** Accepted deliveries per event id (a re-send of a known id still counts: the test asserts once). */
  received: Map<string, number>;
  names: Map<string, string>;
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startFakeEventApi(): Promise<FakeEventApi> {
  const received = new Map<string, number>();
  const names = new Map<string, string>();
  const server = await startFake((app) => {
    app.post("/e/:key", async (c) => {
      const body = (await c.req.json()) as unknown;
      const events = (Array.isArray(body) ? body : [body]) as { id?: string; name: string }[];
      const ids = events.map((e, i) => e.id ?? `generated-${Date.now()}-${i}`);
      for (const [i, id] of ids.entries()) {
        received.set(id, (received.get(id) ?? 0) + 1);
        names.set(id, events[i]?.name ?? "");
      }
      return c.json({ ids, status: 200 });
    });
  });
  return {
    server,
    url: server.url,
    received,
    names,
    down: () => server.fail({ status: 500, body: { error: "internal server error", status: 500 } }),
    up: () => server.clearFaults(),
    close: () => server.close(),
  };
}
