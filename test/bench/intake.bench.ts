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
import { fileURLToPath } from "node:url";
import pg from "pg";
import { appVersusBaseline, closedLoop, fakeEvents, median, type Sample } from "./harness.ts";

const URL_BASE = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = 3;
const TOKEN = "bench-token-0123456789abcdef";
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
function load(port: number, size: "warm-up" | "measure"): Promise<Sample> {
  const requests = size === "warm-up" ? 200 : REQUESTS;
  return closedLoop(port, {
    total: requests,
    concurrency: CONCURRENCY,
    request: (i) => ({
      path: "/api/tasks",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ title: `bench task ${i}` }),
      status: 201,
    }),
  }).then((r) => ({ rate: requests / r.seconds, p50: r.p50, p99: r.p99 }));
}

async function main() {
  const r = await appVersusBaseline({
    self,
    urlBase: URL_BASE,
    rounds: ROUNDS,
    units: REQUESTS,
    appEnv: { FOREMAN_API_TOKEN: TOKEN },
    load,
  });
  const row = (name: string, rs: Sample[]) =>
    `${name.padEnd(28)} ${median(rs, "rate").toFixed(0).padStart(7)} req/s   p50 ${median(rs, "p50").toFixed(2).padStart(7)} ms   p99 ${median(rs, "p99").toFixed(2).padStart(7)} ms`;
  console.log(
    `POST /api/tasks, ${REQUESTS} requests × ${ROUNDS} rounds, concurrency ${CONCURRENCY} (medians)`,
  );
  console.log(row("baseline (Hono+zod+INSERT)", r.baseline));
  console.log(row("foreman on PostgreSQL", r.app));
  console.log(`CPU ms per request, baseline: ${r.cpu.baseline}`);
  console.log(`CPU ms per request, foreman:  ${r.cpu.app}`);
  console.log(
    `ratio (foreman / baseline):   ${(median(r.app, "rate") / median(r.baseline, "rate")).toFixed(2)}×  (goal ≥ 0.5×)`,
  );
  console.log(row("foreman on PGlite (embedded)", [r.embedded]));
}
