// What the HTTP benchmarks share: a child role for the cheapest possible Inngest event API, a way to
// start a Node child and wait for its "ready" line, and the closed-loop driver that keeps N requests
// in flight and reports throughput and latency quantiles. Each bench keeps its own request shape.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { createInterface } from "node:readline";

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
