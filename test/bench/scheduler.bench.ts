// Benchmark: one pure scheduler pass (lib/scheduler/schedule.ts) over snapshots of 1,000 / 10,000 /
// 100,000 ready tasks × 50 workers × 20 projects, beside a plain sort of the same ready list by
// (priority, created), in the same process. Prints the time per pass, the sort's, and the ratio.
//
//   node test/bench/scheduler.bench.ts
//
// Goal: ≤ 3× the sort at every size.
import { type ReadyTask, type Snapshot, schedule } from "../../lib/scheduler/schedule.ts";

function rng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

const NOW = Date.UTC(2026, 11, 1, 12);
function snapshot(n: number, seed: number): Snapshot {
  const r = rng(seed);
  const workers = Array.from({ length: 50 }, (_, i) => ({
    workerId: `w${i}`,
    slots: 1 + (i % 3),
    busy: i % 2,
  }));
  const projects = Array.from({ length: 20 }, (_, i) => ({
    projectId: `p${i}`,
    share: 1 + (i % 4),
    tokens24h: Math.floor(r() * 1e6),
  }));
  const ready: ReadyTask[] = Array.from({ length: n }, (_, i) => ({
    taskId: `t${i}`,
    projectId: `p${Math.floor(r() * 20)}`,
    workerId: `w${Math.floor(r() * 50)}`,
    lane: Math.floor(r() * 6),
    readySince: NOW - Math.floor(r() * 8 * 3600_000),
    revision: r() < 0.1,
  }));
  return { now: NOW, paused: false, budgetRemaining: Number.POSITIVE_INFINITY, workers, projects, ready };
}

const time = (fn: () => unknown, reps: number) => {
  fn(); // warm
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / reps;
};

console.log("ready tasks   scheduler pass   plain sort   ratio");
for (const n of [1_000, 10_000, 100_000]) {
  const s = snapshot(n, n);
  const reps = n >= 100_000 ? 5 : n >= 10_000 ? 20 : 200;
  const pass = time(() => schedule(s), reps);
  const sort = time(() => [...s.ready].sort((a, b) => a.lane - b.lane || a.readySince - b.readySince), reps);
  console.log(
    `${String(n).padStart(11)}   ${pass.toFixed(2).padStart(11)} ms   ${sort.toFixed(2).padStart(7)} ms   ${(pass / sort).toFixed(2)}×  (goal ≤ 3×)`,
  );
}
