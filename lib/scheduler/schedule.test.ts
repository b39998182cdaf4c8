// Properties of the pure scheduler over generated snapshots (a seeded generator, so a failure
// reproduces): slot limits hold, lanes order work, aging lets P5 through, weights share tokens,
// revisions go first in a lane, and a pause or an exhausted budget leases nothing.
import { describe, expect, it } from "vitest";
import { type ReadyTask, type Snapshot, schedule } from "./schedule.ts";

function rng(seed: number) {
  let x = seed >>> 0;
  return () => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}
const NOW = Date.UTC(2026, 11, 1, 12);
const task = (over: Partial<ReadyTask> & { taskId: string }): ReadyTask => ({
  projectId: "p1",
  workerId: "w1",
  lane: 2,
  readySince: NOW,
  revision: false,
  ...over,
});
const base = (ready: ReadyTask[], over: Partial<Snapshot> = {}): Snapshot => ({
  now: NOW,
  paused: false,
  budgetRemaining: Number.POSITIVE_INFINITY,
  workers: [{ workerId: "w1", slots: 1, busy: 0 }],
  projects: [
    { projectId: "p1", share: 1, tokens24h: 0 },
    { projectId: "p2", share: 1, tokens24h: 0 },
  ],
  ready,
  ...over,
});

describe("schedule()", () => {
  it("never leases more than a worker's free slots (500 generated snapshots)", () => {
    const r = rng(42);
    for (let n = 0; n < 500; n++) {
      const workers = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => {
        const slots = 1 + Math.floor(r() * 3);
        return { workerId: `w${i}`, slots, busy: Math.floor(r() * (slots + 1)) };
      });
      const ready = Array.from({ length: Math.floor(r() * 30) }, (_, i) =>
        task({
          taskId: `t${n}_${i}`,
          workerId: `w${Math.floor(r() * (workers.length + 1))}`, // sometimes a worker with no row
          projectId: `p${1 + Math.floor(r() * 3)}`,
          lane: Math.floor(r() * 6),
          readySince: NOW - Math.floor(r() * 6 * 3600_000),
          revision: r() < 0.2,
        }),
      );
      const out = schedule(base(ready, { workers }));
      for (const w of workers) {
        expect(out.filter((a) => a.workerId === w.workerId).length).toBeLessThanOrEqual(w.slots - w.busy);
      }
      expect(new Set(out.map((a) => a.taskId)).size).toBe(out.length);
      for (const a of out) expect(workers.some((w) => w.workerId === a.workerId)).toBe(true);
    }
  });

  it("serves P0 before P3, whatever the order they arrive in", () => {
    const r = rng(7);
    for (let n = 0; n < 100; n++) {
      const ready = [task({ taskId: "p3", lane: 3 }), task({ taskId: "p0", lane: 0 })];
      if (r() < 0.5) ready.reverse();
      expect(schedule(base(ready)).map((a) => a.taskId)).toEqual(["p0"]);
    }
  });

  it("lets an old P5 beat a fresh P2 (aging), but not a fresh P5", () => {
    const fresh2 = task({ taskId: "fresh-p2", lane: 2 });
    expect(schedule(base([fresh2, task({ taskId: "new-p5", lane: 5 })]))[0]?.taskId).toBe("fresh-p2");
    const old5 = task({ taskId: "old-p5", lane: 5, readySince: NOW - 3 * 3600_000 });
    expect(schedule(base([fresh2, old5]))[0]?.taskId).toBe("old-p5");
  });

  it("puts revisions ahead of fresh work in the same lane", () => {
    const out = schedule(
      base([
        task({ taskId: "fresh", readySince: NOW - 60_000 }),
        task({ taskId: "revision", revision: true }),
      ]),
    );
    expect(out.map((a) => a.taskId)).toEqual(["revision"]);
  });

  it("shares tokens 3:1 between projects weighted 3:1 over a simulated day", () => {
    const used = { p1: 0, p2: 0 } as Record<string, number>;
    const history: { at: number; project: string; tokens: number }[] = [];
    let seq = 0;
    for (let minute = 0; minute < 24 * 60; minute += 5) {
      const now = NOW + minute * 60_000;
      const window = history.filter((h) => h.at > now - 24 * 3600_000);
      const tokens24 = (p: string) => window.filter((h) => h.project === p).reduce((s, h) => s + h.tokens, 0);
      const out = schedule({
        now,
        paused: false,
        budgetRemaining: Number.POSITIVE_INFINITY,
        workers: [{ workerId: "w1", slots: 1, busy: 0 }],
        projects: [
          { projectId: "p1", share: 3, tokens24h: tokens24("p1") },
          { projectId: "p2", share: 1, tokens24h: tokens24("p2") },
        ],
        ready: [
          task({ taskId: `a${seq++}`, projectId: "p1", readySince: now }),
          task({ taskId: `b${seq++}`, projectId: "p2", readySince: now }),
        ],
      });
      for (const a of out) {
        const tokens = 8_000 + ((seq * 7919) % 4_000); // tasks vary in size
        used[a.projectId] = (used[a.projectId] ?? 0) + tokens;
        history.push({ at: now, project: a.projectId, tokens });
      }
    }
    const ratio = (used.p1 ?? 0) / (used.p2 ?? 1);
    expect(ratio).toBeGreaterThan(2.6);
    expect(ratio).toBeLessThan(3.4);
  });

  it("gives every project with ready work one lease before any gets a second", () => {
    const out = schedule(
      base(
        [
          task({ taskId: "p1-a", projectId: "p1" }),
          task({ taskId: "p1-b", projectId: "p1" }),
          task({ taskId: "p2-a", projectId: "p2" }),
        ],
        {
          workers: [{ workerId: "w1", slots: 2, busy: 0 }],
          // p2 used far more than its share today, yet still gets its one lease.
          projects: [
            { projectId: "p1", share: 1, tokens24h: 0 },
            { projectId: "p2", share: 1, tokens24h: 5_000_000 },
          ],
        },
      ),
    );
    expect(out.map((a) => a.taskId).sort()).toEqual(["p1-a", "p2-a"]);
  });

  it("leases nothing while paused or with the daily budget spent", () => {
    const ready = [task({ taskId: "x", lane: 0 })];
    expect(schedule(base(ready, { paused: true }))).toEqual([]);
    expect(schedule(base(ready, { budgetRemaining: 0 }))).toEqual([]);
    expect(schedule(base(ready, { budgetRemaining: -5 }))).toEqual([]);
    expect(schedule(base(ready))).toHaveLength(1);
  });

  it("near the day's cap leases only what the remaining tokens cover at the estimate, runs in flight first", () => {
    const ready = Array.from({ length: 6 }, (_, i) => task({ taskId: `t${i}` }));
    const workers = (busy: number) => [{ workerId: "w1", slots: 8, busy }];
    const at = (remaining: number, busy: number) =>
      schedule(
        base(ready, { budgetRemaining: remaining, workers: workers(busy), estimatedTokensPerLease: 10_000 }),
      );
    expect(at(25_000, 0)).toHaveLength(3);
    expect(at(25_000, 2)).toHaveLength(1);
    expect(at(15_000, 2)).toEqual([]);
    expect(at(1, 0), "a last few tokens still start one run").toHaveLength(1);
    expect(at(1_000_000, 2)).toHaveLength(6);
  });
});
