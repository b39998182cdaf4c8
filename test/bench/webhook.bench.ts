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
import type { ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort } from "../net.ts";
import { closedLoop, cpuPerRequest, cpuSeconds, fakeEvents, start } from "./harness.ts";

const URL_BASE = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const BATCHES = Number(process.env.BENCH_BATCHES ?? 150);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const EVENTS = 100;
const ROUNDS = 3;
const TOKEN = "bench-token-0123456789abcdef";
const SECRET = "bench-hubspot-app-secret";
const root = fileURLToPath(new URL("../../", import.meta.url));
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
interface Result {
  eps: number;
  p50: number;
  p99: number;
}

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

async function load(port: number, batches: number): Promise<Result> {
  const path = "/webhooks/hubspot";
  const url = `http://127.0.0.1:${port}${path}`;
  const r = await closedLoop(port, {
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
  });
  return { eps: (batches * EVENTS) / r.seconds, p50: r.p50, p99: r.p99 };
}

async function main() {
  const dbName = `foreman_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: URL_BASE });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(URL_BASE);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const dataDir = mkdtempSync(join(tmpdir(), "foreman-bench-"));
  const children: ChildProcess[] = [];
  try {
    const events = await start([self, "--fake-events"], {}, /listening (\d+)/);
    children.push(events.child);
    const eventsUrl = `http://127.0.0.1:${events.match[1]}`;
    const appEnv = (extra: NodeJS.ProcessEnv) => ({
      FOREMAN_API_TOKEN: TOKEN,
      HUBSPOT_APP_SECRET: SECRET,
      FOREMAN_PUBLIC_URL: "",
      HUBSPOT_PORTAL_ID: "",
      INNGEST_DEV: eventsUrl,
      LOG_LEVEL: "error",
      HOST: "127.0.0.1",
      ...extra,
    });
    // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the app (written on exit).
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const app = await start(
      [...nodeArgs, join(root, "api/server.ts")],
      appEnv({ DATABASE_URL: databaseUrl, PORT: String(await freePort()) }),
      /app:\s+http:\/\/[^:]+:(\d+)/,
    );
    children.push(app.child);
    const base = await start([self, "--baseline", databaseUrl], {}, /listening (\d+)/);
    children.push(base.child);
    const appPort = Number(app.match[1]);
    const basePort = Number(base.match[1]);

    await load(appPort, 30); // warm-up: JIT, pools, plan caches
    await load(basePort, 30);
    const runs: Record<"app" | "baseline", Result[]> = { app: [], baseline: [] };
    // Where the CPU goes, per event and process (the last round of each path is printed).
    const pids = { app: app.child.pid, baseline: base.child.pid, events: events.child.pid };
    const cpu: Record<string, string> = {};
    const measured = async (name: "app" | "baseline", port: number) => {
      const before = cpuSeconds(pids);
      runs[name].push(await load(port, BATCHES));
      cpu[name] = cpuPerRequest(before, cpuSeconds(pids), BATCHES * EVENTS);
    };
    for (let r = 0; r < ROUNDS; r++) {
      await measured("baseline", basePort);
      await measured("app", appPort);
    }
    const median = (rs: Result[], k: keyof Result) =>
      [...rs.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(rs.length / 2)] ?? 0;
    const row = (name: string, rs: Result[]) =>
      `${name.padEnd(30)} ${median(rs, "eps").toFixed(0).padStart(7)} events/s   p50 ${median(rs, "p50").toFixed(1).padStart(7)} ms   p99 ${median(rs, "p99").toFixed(1).padStart(7)} ms  (per ${EVENTS}-event batch)`;
    console.log(
      `POST /webhooks/hubspot, ${BATCHES} batches × ${EVENTS} events × ${ROUNDS} rounds, concurrency ${CONCURRENCY} (medians)`,
    );
    console.log(row("baseline (Hono+HMAC+INSERT)", runs.baseline));
    console.log(row("foreman on PostgreSQL", runs.app));
    console.log(`CPU ms per event, baseline: ${cpu.baseline}`);
    console.log(`CPU ms per event, foreman:  ${cpu.app}`);
    const ratio = median(runs.app, "eps") / median(runs.baseline, "eps");
    const worstP99 = Math.max(...runs.app.map((r) => r.p99));
    console.log(
      `ratio (foreman / baseline):     ${ratio.toFixed(2)}×  (goal ≥ 0.5×); foreman's worst p99 ${worstP99.toFixed(1)} ms (goal < 1000 ms)`,
    );

    // The embedded default, for reference (one process owns PGlite; no baseline on it).
    app.child.kill("SIGTERM");
    await new Promise((r) => app.child.once("exit", r));
    const embedded = await start(
      [join(root, "api/server.ts")],
      appEnv({ FOREMAN_DATA_DIR: dataDir, PORT: String(await freePort()) }),
      /app:\s+http:\/\/[^:]+:(\d+)/,
    );
    children.push(embedded.child);
    await load(Number(embedded.match[1]), 20);
    console.log(row("foreman on PGlite (embedded)", [await load(Number(embedded.match[1]), BATCHES)]));
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
