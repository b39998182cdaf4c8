// A fake Inngest server (dev server or self-hosted API) for serve-handler tests: it accepts syncs,
// async checkpoints and event sends the way Inngest does, and records them. Point the SDK at it with
// INNGEST_DEV=<url> (dev mode at that URL) and INNGEST_BASE_URL=<url>. `eventsDown()` makes the event
// API answer 500, like an engine that is unreachable behind a proxy; `delivered` counts the events it
// accepted per id, so a test can assert each arrived exactly once.
import { afterAll, beforeAll } from "vitest";
import { type FakeServer, startFake } from "./server.ts";

/** One POST /v1/checkpoint/:runId/async body, as the SDK sends it after each step it ran. */
export interface AsyncCheckpoint {
  run_id: string;
  fn_id: string;
  qi_id: string;
  request_id?: string;
  generation_id?: number;
  request_started_at?: number;
  steps: { id: string; op: string; displayName?: string; name?: string; data?: unknown; error?: unknown }[];
  ts: number;
}

export interface SentEvent {
  name: string;
  data: Record<string, unknown>;
  id?: string;
  ts: number;
}

export interface FakeInngest extends FakeServer {
  /** Async checkpoint bodies, in arrival order. */
  checkpoints(): AsyncCheckpoint[];
  /** Every event sent to the event API (POST /e/:key), in arrival order, accepted or not. */
  sentEvents(): SentEvent[];
  /** Accepted deliveries per event id (a failed send does not count; a re-send of an id does). */
  delivered: Map<string, number>;
  /** Names of accepted events by id. */
  deliveredNames: Map<string, string>;
  eventsDown(): void;
  eventsUp(): void;
}

export async function startFakeInngest(): Promise<FakeInngest> {
  let sent = 0;
  const delivered = new Map<string, number>();
  const deliveredNames = new Map<string, string>();
  const fake = await startFake((app) => {
    app.post("/fn/register", (c) => c.json({ ok: true, modified: true }, 200));
    // Inngest's CheckpointAsyncSteps answers a stored checkpoint with an empty 200 (a stale
    // dispatch gets 409, a bad body 400).
    app.post("/v1/checkpoint/:runId/async", (c) => c.body(null, 200));
    app.post("/e/:key", async (c) => {
      const body = (await c.req.json()) as unknown;
      const list = Array.isArray(body) ? body : [body];
      const ids = list.map((e: { id?: string }) => e.id ?? `evt_${++sent}`);
      for (const [i, id] of ids.entries()) {
        delivered.set(id, (delivered.get(id) ?? 0) + 1);
        deliveredNames.set(id, (list[i] as { name?: string }).name ?? "");
      }
      return c.json({ ids, status: 200 });
    });
  });
  const json = <T>(body: string) => JSON.parse(body) as T;
  return Object.assign(fake, {
    delivered,
    deliveredNames,
    eventsDown: () =>
      fake.fail({
        match: (c) => c.path.startsWith("/e/"),
        status: 500,
        body: { error: "internal server error", status: 500 },
      }),
    eventsUp: () => fake.clearFaults(),
    checkpoints: () =>
      fake.callsTo("POST", /^\/v1\/checkpoint\/[^/]+\/async$/).map((c) => json<AsyncCheckpoint>(c.body)),
    sentEvents: () =>
      fake.callsTo("POST", /^\/e\//).flatMap((c) => {
        const body = json<SentEvent | SentEvent[]>(c.body);
        return Array.isArray(body) ? body : [body];
      }),
  });
}

/**
 * The fake for a whole file, as the serve handler's engine: on Node the Hono adapter reads the
 * process environment, and a URL in INNGEST_DEV means dev mode at that URL. Read it inside tests.
 */
export function useFakeInngestEngine(): { readonly current: FakeInngest } {
  let fake: FakeInngest | undefined;
  beforeAll(async () => {
    fake = await startFakeInngest();
    process.env.INNGEST_DEV = fake.url;
    process.env.INNGEST_BASE_URL = fake.url;
  });
  afterAll(async () => {
    delete process.env.INNGEST_DEV;
    delete process.env.INNGEST_BASE_URL;
    await fake?.close();
  });
  return {
    get current() {
      if (!fake) throw new Error("useFakeInngestEngine: the fake starts in beforeAll");
      return fake;
    },
  };
}
