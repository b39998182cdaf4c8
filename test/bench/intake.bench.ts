// Benchmark: POST /api/tasks through the real app (`node api/server.ts`, its own process, as `npm start`
// runs it) on PostgreSQL, beside a bare Hono + zod + one INSERT baseline served the same way
// (@hono/node-server, its own process), driven by the same closed-loop load generator in one run. The
// app also sends each task's event to a fake Inngest event API (a third process), as production does.
// The PGlite figure (embedded default) is printed too. Paths take turns over rounds so drift hits them alike.
//
//   node test/bench/intake.bench.ts   (env: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
//                                            BENCH_REQUESTS=2000 BENCH_CONCURRENCY=16)
//
// Goal: the app at ≥ 0.5× the baseline's throughput on PostgreSQL.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort } from "../net.ts";
import { closedLoop, cpuPerRequest, cpuSeconds, fakeEvents, start } from "./harness.ts";

const URL_BASE = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = 3;
const TOKEN = "bench-token-0123456789abcdef";
const root = fileURLToPath(new URL("../../", import.meta.url));
const self = fileURLToPath(import.meta.url);

// ---- child roles -------------------------------------------------------------------------------
if (process.argv[2] === "--baseline") await baseline(process.argv[3] as string);
else if (process.argv[2] === "--fake-events") fakeEvents();
else await main();

/** The reference: Hono + zod + one INSERT, nothing else. */
async function baseline(databaseUrl: string) {
  const { Hono } = await import("hono");
  const { serve } = await import("@hono/node-server");
  const { z } = await import("zod");
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  const body = z.strictObject({ title: z.string().trim().min(1).max(200) });
  const app = new Hono();
  let n = 0;
  app.post("/api/tasks", async (c) => {
    const input = body.parse(await c.req.json());
    const id = `task_bench_${process.pid}_${++n}`;
    await pool.query(
      "insert into tasks (id, project_id, worker_id, title) values ($1, 'proj_default', 'crm-setup', $2)",
      [id, input.title],
    );
    return c.json({ task: { id } }, 201);
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  server.once("listening", () => console.log(`listening ${(server.address() as { port: number }).port}`));
}

// ---- the driver --------------------------------------------------------------------------------
interface Result {
  rps: number;
  p50: number;
  p99: number;
}

async function load(port: number, requests: number): Promise<Result> {
  const r = await closedLoop(port, {
    total: requests,
    concurrency: CONCURRENCY,
    request: (i) => ({
      path: "/api/tasks",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ title: `bench task ${i}` }),
      status: 201,
    }),
  });
  return { rps: requests / r.seconds, p50: r.p50, p99: r.p99 };
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

    await load(appPort, 200); // warm-up: JIT, pools, plan caches
    await load(basePort, 200);
    const runs: Record<"app" | "baseline", Result[]> = { app: [], baseline: [] };
    // Where the CPU goes, per request and process (the last round of each path is printed).
    const pids = { app: app.child.pid, baseline: base.child.pid, events: events.child.pid };
    const cpu: Record<string, string> = {};
    const measured = async (name: "app" | "baseline", port: number) => {
      const before = cpuSeconds(pids);
      runs[name].push(await load(port, REQUESTS));
      cpu[name] = cpuPerRequest(before, cpuSeconds(pids), REQUESTS);
    };
    for (let r = 0; r < ROUNDS; r++) {
      await measured("baseline", basePort);
      await measured("app", appPort);
    }
    const median = (rs: Result[], k: keyof Result) =>
      [...rs.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(rs.length / 2)] ?? 0;
    const row = (name: string, rs: Result[]) =>
      `${name.padEnd(28)} ${median(rs, "rps").toFixed(0).padStart(7)} req/s   p50 ${median(rs, "p50").toFixed(2).padStart(7)} ms   p99 ${median(rs, "p99").toFixed(2).padStart(7)} ms`;
    console.log(
      `POST /api/tasks, ${REQUESTS} requests × ${ROUNDS} rounds, concurrency ${CONCURRENCY} (medians)`,
    );
    console.log(row("baseline (Hono+zod+INSERT)", runs.baseline));
    console.log(row("foreman on PostgreSQL", runs.app));
    console.log(`CPU ms per request, baseline: ${cpu.baseline}`);
    console.log(`CPU ms per request, foreman:  ${cpu.app}`);
    console.log(
      `ratio (foreman / baseline):   ${(median(runs.app, "rps") / median(runs.baseline, "rps")).toFixed(2)}×  (goal ≥ 0.5×)`,
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
    await load(Number(embedded.match[1]), 200);
    console.log(row("foreman on PGlite (embedded)", [await load(Number(embedded.match[1]), REQUESTS)]));
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
