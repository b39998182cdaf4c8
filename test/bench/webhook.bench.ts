// Benchmark: signed 100-event HubSpot batches (ticket creations, ids above 2^32) to POST
// /webhooks/hubspot through the real app (`node api/server.ts`, its own process, as `npm start` runs
// it) on PostgreSQL, beside a bare Hono route that verifies the same HMAC and does one multi-row
// INSERT (its own process), driven by the same closed-loop load generator in one run. The app also
// sends the events it owes to a fake Inngest event API (a third process), as production does. Paths
// take turns over rounds so drift hits them alike. The embedded PGlite figure is printed too.
//
//   node test/bench/webhook.bench.ts   (env: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//                                             BENCH_BATCHES=150 BENCH_CONCURRENCY=8)
//
// Goal: the app at ≥ 0.5× the baseline's events/s on PostgreSQL, and p99 per batch under 1 s.
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { appVersusBaseline, closedLoop, fakeEvents, median, type Sample } from "./harness.ts";

const URL_BASE = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const BATCHES = Number(process.env.BENCH_BATCHES ?? 150);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const EVENTS = 100;
const ROUNDS = 3;
const TOKEN = "bench-token-0123456789abcdef";
const SECRET = "bench-hubspot-app-secret";
const self = fileURLToPath(import.meta.url);

// Every batch is new tickets: the same ids never reach either path twice. (Declared before the roles
// start: they await at top level.)
let nextTicket = 2 ** 33 + (Date.now() % 1_000_000) * 1_000_000;
let nextEventId = 1;

// ---- child roles -------------------------------------------------------------------------------
if (process.argv[2] === "--baseline") await baseline(process.argv[3] as string);
else if (process.argv[2] === "--fake-events") fakeEvents();
else await main();

/** The reference: Hono, the v3 HMAC over the raw body, JSON.parse, one multi-row INSERT. */
async function baseline(databaseUrl: string) {
  const { Hono } = await import("hono");
  const { serve } = await import("@hono/node-server");
  const { timingSafeEqual } = await import("node:crypto");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const app = new Hono();
  let n = 0;
  app.post("/webhooks/hubspot", async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const ts = c.req.header("x-hubspot-request-timestamp") ?? "";
    const expected = Buffer.from(
      createHmac("sha256", SECRET).update("POST").update(c.req.url).update(body).update(ts).digest("base64"),
    );
    const given = Buffer.from(c.req.header("x-hubspot-signature-v3") ?? "");
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return c.text("bad signature", 401);
    const events = JSON.parse(new TextDecoder().decode(body)) as { objectId: number }[];
    const ids = events.map(() => `task_bench_${process.pid}_${++n}`);
    const refs = events.map((e) => String(e.objectId));
    await pool.query(
      `insert into tasks (id, project_id, worker_id, title, source, source_ref)
       select id, 'proj_default', 'crm-setup', 'HubSpot ticket ' || ref, 'hubspot', ref
         from unnest($1::text[], $2::text[]) as x(id, ref)`,
      [ids, refs],
    );
    return c.json({ created: events.length });
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  server.once("listening", () => console.log(`listening ${(server.address() as { port: number }).port}`));
}

// ---- the driver --------------------------------------------------------------------------------
function batchBody(now: number): string {
  const events: string[] = [];
  for (let i = 0; i < EVENTS; i++) {
    events.push(
      `{"eventId":${nextEventId++},"subscriptionId":2456789,"portalId":62515,"appId":1234567,` +
        `"occurredAt":${now - EVENTS + i},"subscriptionType":"ticket.creation","attemptNumber":0,` +
        `"objectId":${nextTicket++},"changeFlag":"CREATED","changeSource":"CRM_UI"}`,
    );
  }
  return `[${events.join(",")}]`;
}

function load(port: number, size: "warm-up" | "measure"): Promise<Sample> {
  const batches = size === "warm-up" ? 30 : BATCHES;
  const path = "/webhooks/hubspot";
  const url = `http://127.0.0.1:${port}${path}`;
  return closedLoop(port, {
    total: batches,
    concurrency: CONCURRENCY,
    request: () => {
      const now = Date.now();
      const body = batchBody(now);
      const ts = String(now);
      const signature = createHmac("sha256", SECRET).update(`POST${url}${body}${ts}`).digest("base64");
      return {
        path,
        headers: {
          "content-type": "application/json",
          "x-hubspot-signature-v3": signature,
          "x-hubspot-request-timestamp": ts,
        },
        body,
        status: 200,
      };
    },
  }).then((r) => ({ rate: (batches * EVENTS) / r.seconds, p50: r.p50, p99: r.p99 }));
}

async function main() {
  const r = await appVersusBaseline({
    self,
    urlBase: URL_BASE,
    rounds: ROUNDS,
    units: BATCHES * EVENTS,
    appEnv: {
      FOREMAN_API_TOKEN: TOKEN,
      HUBSPOT_APP_SECRET: SECRET,
      FOREMAN_PUBLIC_URL: "",
      HUBSPOT_PORTAL_ID: "",
    },
    load,
  });
  const row = (name: string, rs: Sample[]) =>
    `${name.padEnd(30)} ${median(rs, "rate").toFixed(0).padStart(7)} events/s   p50 ${median(rs, "p50").toFixed(1).padStart(7)} ms   p99 ${median(rs, "p99").toFixed(1).padStart(7)} ms  (per ${EVENTS}-event batch)`;
  console.log(
    `POST /webhooks/hubspot, ${BATCHES} batches × ${EVENTS} events × ${ROUNDS} rounds, concurrency ${CONCURRENCY} (medians)`,
  );
  console.log(row("baseline (Hono+HMAC+INSERT)", r.baseline));
  console.log(row("foreman on PostgreSQL", r.app));
  console.log(`CPU ms per event, baseline: ${r.cpu.baseline}`);
  console.log(`CPU ms per event, foreman:  ${r.cpu.app}`);
  const ratio = median(r.app, "rate") / median(r.baseline, "rate");
  const worstP99 = Math.max(...r.app.map((x) => x.p99));
  console.log(
    `ratio (foreman / baseline):     ${ratio.toFixed(2)}×  (goal ≥ 0.5×); foreman's worst p99 ${worstP99.toFixed(1)} ms (goal < 1000 ms)`,
  );
  console.log(row("foreman on PGlite (embedded)", [r.embedded]));
}
