// What the HTTP benchmarks share: a child role for the cheapest possible Inngest event API, a way to
// start a Node child and wait for its "ready" line, the closed-loop driver that keeps N requests in
// flight and reports throughput and latency quantiles, CPU accounting per process, and the whole
// app-versus-baseline run. Each bench keeps its own request shape, baseline and report.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { freePort } from "../net.ts";

/** The Inngest event API, as cheap as it can be: accept and acknowledge (run as a child role). */
export function fakeEvents(): void {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString()) as { id?: string } | { id?: string }[];
      const ids = (Array.isArray(parsed) ? parsed : [parsed]).map((e) => e.id ?? "x");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ids, status: 200 }));
    });
  });
  server.listen(0, "127.0.0.1", () =>
    console.log(`listening ${(server.address() as { port: number }).port}`),
  );
}

/** Starts `node <args>` and resolves once its output matches `ready`; rejects if it exits first. */
export function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    const onLine = (line: string) => {
      out += `${line}\n`;
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (l) => (out += `${l}\n`));
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${code}:\n${out}`)));
  });
}

export interface Request {
  path: string;
  headers: Record<string, string | number>;
  body: string;
  /** The status a recorded request must answer with. */
  status: number;
}

/**
 * Closed loop: `concurrency` workers each send the next request as soon as the previous one answers,
 * until `total` were sent. Latency is measured from send to the end of the answer.
 */
export async function closedLoop(
  port: number,
  opts: { total: number; concurrency: number; request: (i: number) => Request },
): Promise<{ seconds: number; p50: number; p99: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const r = opts.request(i);
      const t0 = performance.now();
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path: r.path,
          method: "POST",
          agent,
          headers: { ...r.headers, "content-length": Buffer.byteLength(r.body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            if (res.statusCode !== r.status) {
              reject(new Error(`status ${res.statusCode}: ${Buffer.concat(chunks).toString()}`));
              return;
            }
            latencies.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(r.body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.total) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { seconds, p50: at(0.5), p99: at(0.99) };
}

/** CPU seconds used so far by each process of interest (Linux /proc); postgres sums every backend. */
export function cpuSeconds(pids: Record<string, number | undefined>): Record<string, number> {
  const tick = 100; // USER_HZ on Linux
  const of = (pid: number | string): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(f[11]) + Number(f[12])) / tick;
    } catch {
      return 0;
    }
  };
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = pid ? of(pid) : 0;
  let postgres = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("postgres")) postgres += of(pid);
    } catch {}
  }
  out.postgres = postgres;
  const self = process.cpuUsage();
  out.driver = (self.user + self.system) / 1e6;
  return out;
}

/** CPU milliseconds per request between two snapshots, one "name=ms" pair per process. */
export function cpuPerRequest(
  before: Record<string, number>,
  after: Record<string, number>,
  requests: number,
): string {
  return Object.keys(after)
    .map((k) => `${k}=${((((after[k] ?? 0) - (before[k] ?? 0)) * 1000) / requests).toFixed(3)}`)
    .join(" ");
}

/** One measured load: throughput (requests or events per second) and latency quantiles in ms. */
export interface Sample {
  rate: number;
  p50: number;
  p99: number;
}

export const median = (rs: Sample[], k: keyof Sample): number =>
  [...rs.map((x) => x[k])].sort((a, b) => a - b)[Math.floor(rs.length / 2)] ?? 0;

export interface AppVersusBaseline {
  app: Sample[];
  baseline: Sample[];
  /** The embedded PGlite default, for reference (one process owns it; no baseline on it). */
  embedded: Sample;
  /** CPU ms per unit and process, from the last round of each path. */
  cpu: { app: string; baseline: string };
}

/**
 * The HTTP benchmarks' run: a database of its own, the fake event API (the bench file's
 * `--fake-events` role), the real app (`node api/server.ts`, as `npm start` runs it) and the bench
 * file's `--baseline <databaseUrl>` role, each its own process; a warm-up, then `rounds` loads taking
 * turns so drift hits both alike; then the app again on embedded PGlite. `load(port, "warm-up")`
 * and `load(port, "measure")` drive one path; `units` is what a measured load counts (requests,
 * events) for the CPU figures. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the app.
 */
export async function appVersusBaseline(opts: {
  self: string;
  urlBase: string;
  rounds: number;
  units: number;
  appEnv: Record<string, string>;
  load: (port: number, size: "warm-up" | "measure") => Promise<Sample>;
}): Promise<AppVersusBaseline> {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const dbName = `foreman_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: opts.urlBase });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(opts.urlBase);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const dataDir = mkdtempSync(join(tmpdir(), "foreman-bench-"));
  const children: ChildProcess[] = [];
  try {
    const events = await start([opts.self, "--fake-events"], {}, /listening (\d+)/);
    children.push(events.child);
    const appEnv = (extra: NodeJS.ProcessEnv) => ({
      INNGEST_DEV: `http://127.0.0.1:${events.match[1]}`,
      LOG_LEVEL: "error",
      HOST: "127.0.0.1",
      ...opts.appEnv,
      ...extra,
    });
    const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const app = await start(
      [...nodeArgs, join(root, "api/server.ts")],
      appEnv({ DATABASE_URL: databaseUrl, PORT: String(await freePort()) }),
      /app:\s+http:\/\/[^:]+:(\d+)/,
    );
    children.push(app.child);
    const base = await start([opts.self, "--baseline", databaseUrl], {}, /listening (\d+)/);
    children.push(base.child);
    const ports = { app: Number(app.match[1]), baseline: Number(base.match[1]) };

    await opts.load(ports.app, "warm-up"); // JIT, pools, plan caches
    await opts.load(ports.baseline, "warm-up");
    const runs: Record<"app" | "baseline", Sample[]> = { app: [], baseline: [] };
    const pids = { app: app.child.pid, baseline: base.child.pid, events: events.child.pid };
    const cpu = { app: "", baseline: "" };
    for (let r = 0; r < opts.rounds; r++) {
      for (const path of ["baseline", "app"] as const) {
        const before = cpuSeconds(pids);
        runs[path].push(await opts.load(ports[path], "measure"));
        cpu[path] = cpuPerRequest(before, cpuSeconds(pids), opts.units);
      }
    }

    app.child.kill("SIGTERM");
    await new Promise((r) => app.child.once("exit", r));
    const embedded = await start(
      [join(root, "api/server.ts")],
      appEnv({ FOREMAN_DATA_DIR: dataDir, PORT: String(await freePort()) }),
      /app:\s+http:\/\/[^:]+:(\d+)/,
    );
    children.push(embedded.child);
    await opts.load(Number(embedded.match[1]), "warm-up");
    return { ...runs, embedded: await opts.load(Number(embedded.match[1]), "measure"), cpu };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
