// Benchmark: the GPU bridge versus calling the same fake upstream directly, measured in one run.
// The fake upstream (api/bridge/fake-upstream.ts) and the bridge (api/bridge/main.ts) run as their own
// processes, as in production; this process is a closed-loop load generator on keep-alive sockets.
// The fake models a GPU: each completion takes LATENCY_MS and at most SLOTS run at once (more wait
// their turn), so at 4× slots every path queues — at the upstream, or in the bridge.
// A third path, a bare 20-line node:http proxy (this file run with --bare-proxy), shows what one extra
// hop costs on this machine by itself. Paths take turns over several rounds so drift hits them alike.
//
//   node test/bench/bridge.bench.ts     (env: BENCH_SLOTS=4 BENCH_LATENCY_MS=10 BENCH_REQUESTS=1200)
//
// Goal at concurrency = slots: < 1 ms added at p50 and ≥ 0.9× direct throughput.
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

const SLOTS = Number(process.env.BENCH_SLOTS ?? 4);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1200);
const ROUNDS = 4;
const TOKEN = "bench-token-0123456789";
const root = new URL("../../", import.meta.url);

type PathName = "direct" | "bridge" | "bare proxy";

interface Target {
  name: PathName;
  url: URL;
  agent: http.Agent;
}

interface Result {
  p50: number;
  p99: number;
  rps: number;
}

/** The reference hop: buffer the request, forward it, buffer the answer, relay it. Nothing else. */
function bareProxy(upstream: URL): void {
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const headers = { "content-type": "application/json", "content-length": body.length };
      const up = http.request({
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: "POST",
        agent,
        headers,
      });
      up.on("response", (ur) => {
        const out: Buffer[] = [];
        ur.on("data", (c: Buffer) => out.push(c));
        ur.on("end", () => {
          const b = Buffer.concat(out);
          res.writeHead(ur.statusCode ?? 502, {
            "content-type": "application/json",
            "content-length": b.length,
          });
          res.end(b);
        });
      });
      up.end(body);
    });
  });
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    console.log(JSON.stringify({ event: "listening", url: `http://127.0.0.1:${port}` }));
  });
}

const children: ChildProcess[] = [];

/** Starts a node script and resolves with the URL from its first {"event":"listening"} line. */
function startProcess(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = spawn(process.execPath, [new URL(script, root).pathname, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; url?: string };
        if (msg.event === "listening" && msg.url) resolve(msg.url);
      } catch {
        // not a JSON log line
      }
    });
  });
}

function once(t: Target, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers = {
      "content-type": "application/json",
      "content-length": body.length,
      authorization: `Bearer ${TOKEN}`,
    };
    const req = http.request(
      {
        host: t.url.hostname,
        port: t.url.port,
        path: "/v1/chat/completions",
        method: "POST",
        agent: t.agent,
        headers,
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(performance.now() - started)
            : reject(new Error(`${t.name} answered ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Closed loop: `concurrency` workers send back to back until `total` requests are done. */
async function load(t: Target, concurrency: number, total: number, body: Buffer) {
  const latencies: number[] = [];
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < total) {
        issued += 1;
        latencies.push(await once(t, body));
      }
    }),
  );
  return { latencies, ms: performance.now() - started };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN;

async function measure(targets: Target[], concurrency: number, body: Buffer): Promise<Map<PathName, Result>> {
  const all = new Map<PathName, { latencies: number[]; ms: number }>();
  for (const t of targets) await load(t, concurrency, 200, body); // warm-up: JIT, sockets
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no path always runs first.
    for (const t of targets.map((_, i) => targets[(i + round) % targets.length] as Target)) {
      const r = await load(t, concurrency, REQUESTS / ROUNDS, body);
      const acc = all.get(t.name) ?? { latencies: [], ms: 0 };
      acc.latencies.push(...r.latencies);
      acc.ms += r.ms;
      all.set(t.name, acc);
    }
  }
  const out = new Map<PathName, Result>();
  for (const [name, { latencies, ms }] of all) {
    latencies.sort((a, b) => a - b);
    out.set(name, {
      p50: pct(latencies, 0.5),
      p99: pct(latencies, 0.99),
      rps: (latencies.length / ms) * 1000,
    });
  }
  return out;
}

const num = (n: number, digits = 2) => n.toFixed(digits).padStart(9);

async function main(): Promise<void> {
  const upstream = await startProcess("api/bridge/fake-upstream.ts", [
    ...["--port", "0", "--latency-ms", String(LATENCY_MS), "--capacity", String(SLOTS)],
  ]);
  const bridge = await startProcess("api/bridge/main.ts", [], {
    BRIDGE_UPSTREAMS: upstream,
    BRIDGE_TOKENS: TOKEN,
    BRIDGE_PORT: "0",
    BRIDGE_SLOTS: String(SLOTS),
    BRIDGE_QUEUE: String(SLOTS * 8),
  });
  const bare = await startProcess("test/bench/bridge.bench.ts", ["--bare-proxy", upstream]);
  const body = Buffer.from(
    JSON.stringify({ model: "fake-model", messages: [{ role: "user", content: "Classify this ticket." }] }),
  );

  console.log(
    `bridge benchmark — fake upstream: ${LATENCY_MS} ms per completion, ${SLOTS} at once; bridge: ${SLOTS} slots; ` +
      `${REQUESTS} requests per path and concurrency over ${ROUNDS} rounds`,
  );
  console.log(
    `${"concurrency".padEnd(16)}${"path".padEnd(12)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"req/s".padStart(9)}`,
  );
  for (const [label, concurrency] of [
    ["= slots", SLOTS],
    ["4× slots", SLOTS * 4],
  ] as const) {
    const agent = () => new http.Agent({ keepAlive: true, maxSockets: concurrency });
    const targets: Target[] = [
      { name: "direct", url: new URL(upstream), agent: agent() },
      { name: "bridge", url: new URL(bridge), agent: agent() },
      { name: "bare proxy", url: new URL(bare), agent: agent() },
    ];
    const r = await measure(targets, concurrency, body);
    for (const t of targets) {
      const x = r.get(t.name) as Result;
      console.log(
        `${`${concurrency} (${label})`.padEnd(16)}${t.name.padEnd(12)}${num(x.p50)}${num(x.p99)}${num(x.rps, 0)}`,
      );
    }
    const direct = r.get("direct") as Result;
    const bridged = r.get("bridge") as Result;
    const signed = (ms: number) => `${ms >= 0 ? "+" : ""}${ms.toFixed(3)} ms`;
    const added = (x: Result) =>
      `p50 ${signed(x.p50 - direct.p50)}, p99 ${signed(x.p99 - direct.p99)}, ` +
      `throughput ${(x.rps / direct.rps).toFixed(3)}× direct`;
    console.log(`  bridge adds:     ${added(bridged)}`);
    console.log(`  bare proxy adds: ${added(r.get("bare proxy") as Result)}  (one extra hop, nothing else)`);
    if (concurrency === SLOTS) {
      const ok = bridged.p50 - direct.p50 < 1 && bridged.rps / direct.rps >= 0.9;
      console.log(
        `  goal at concurrency = slots (< 1 ms added at p50, ≥ 0.9× throughput): ${ok ? "met" : "NOT met"}`,
      );
    }
    for (const t of targets) t.agent.destroy();
  }
}

const bareAt = process.argv.indexOf("--bare-proxy");
if (bareAt !== -1) {
  bareProxy(new URL(process.argv[bareAt + 1] ?? ""));
} else {
  main()
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => {
      for (const child of children) child.kill();
    });
}
