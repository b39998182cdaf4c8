// The pure scheduler: a snapshot in, lease assignments out — no I/O, no model calls. Priority lanes
// P0–P5 with aging (a task waiting long enough climbs a lane at a time, so P5 never starves);
// within a lane, revisions go ahead of fresh work; between projects, tokens are shared by weight
// over a rolling 24 h (the least-served project relative to its share goes first, and every project
// with ready work gets one lease before any gets a second); worker slot limits, the daily budget
// gate and the global pause flag are absolute.

export interface ReadyTask {
  taskId: string;
  projectId: string;
  workerId: string;
  /** Lane 0 (P0, most urgent) … 5 (P5, bulk). */
  lane: number;
  /** When the task became ready (ms since epoch). */
  readySince: number;
  /** Revisions (revision_count > 0) go ahead of fresh work in their lane. */
  revision: boolean;
}

export interface WorkerSlots {
  workerId: string;
  slots: number;
  busy: number;
}

export interface ProjectShare {
  projectId: string;
  /** Relative weight (projects.budget_share). */
  share: number;
  /** Tokens used by the project's work over the last 24 h. */
  tokens24h: number;
}

export interface Snapshot {
  now: number;
  paused: boolean;
  /** Remaining daily budget (tokens or cost units); ≤ 0 stops all leasing. Infinity when uncapped. */
  budgetRemaining: number;
  workers: WorkerSlots[];
  projects: ProjectShare[];
  ready: ReadyTask[];
  /** Tokens a lease is expected to use (for fairness within one round); default 10,000. */
  estimatedTokensPerLease?: number;
}

export interface SchedulerOptions {
  /** Minutes of waiting that raise a task one lane (default 30). */
  agingMinutesPerLane?: number;
}

export interface Assignment {
  taskId: string;
  workerId: string;
  projectId: string;
  /** The lane the task was scheduled at after aging. */
  effectiveLane: number;
}

export function effectiveLane(t: ReadyTask, now: number, agingMinutesPerLane = 30): number {
  const waited = Math.max(0, now - t.readySince) / 60_000;
  return Math.max(0, t.lane - Math.floor(waited / agingMinutesPerLane));
}

export function schedule(s: Snapshot, opts: SchedulerOptions = {}): Assignment[] {
  if (s.paused || !(s.budgetRemaining > 0)) return [];
  const free = new Map(s.workers.map((w) => [w.workerId, Math.max(0, w.slots - w.busy)]));
  const share = new Map(s.projects.map((p) => [p.projectId, p]));
  const aging = opts.agingMinutesPerLane ?? 30;
  // Served so far, relative to weight: tokens over 24 h, plus what this round hands out.
  const served = new Map<string, number>();
  const leasesThisRound = new Map<string, number>();
  const ratio = (projectId: string) => {
    const p = share.get(projectId);
    const weight = p && p.share > 0 ? p.share : 1;
    return ((p?.tokens24h ?? 0) + (served.get(projectId) ?? 0)) / weight;
  };
  const candidates = s.ready
    .filter((t) => (free.get(t.workerId) ?? 0) > 0)
    .map((t) => ({ t, lane: effectiveLane(t, s.now, aging) }));
  const out: Assignment[] = [];
  const unit = s.estimatedTokensPerLease ?? 10_000;

  while (candidates.length > 0) {
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      const c = candidates[i] as (typeof candidates)[number];
      if ((free.get(c.t.workerId) ?? 0) <= 0) continue;
      if (best < 0 || before(c, candidates[best] as (typeof candidates)[number])) best = i;
    }
    if (best < 0) break;
    const [chosen] = candidates.splice(best, 1);
    if (!chosen) break;
    free.set(chosen.t.workerId, (free.get(chosen.t.workerId) ?? 0) - 1);
    served.set(chosen.t.projectId, (served.get(chosen.t.projectId) ?? 0) + unit);
    leasesThisRound.set(chosen.t.projectId, (leasesThisRound.get(chosen.t.projectId) ?? 0) + 1);
    out.push({
      taskId: chosen.t.taskId,
      workerId: chosen.t.workerId,
      projectId: chosen.t.projectId,
      effectiveLane: chosen.lane,
    });
  }
  return out;

  function before(a: { t: ReadyTask; lane: number }, b: { t: ReadyTask; lane: number }): boolean {
    if (a.lane !== b.lane) return a.lane < b.lane;
    if (a.t.revision !== b.t.revision) return a.t.revision;
    // Minimum one: a project not yet served this round goes before one that was.
    const la = leasesThisRound.get(a.t.projectId) ?? 0;
    const lb = leasesThisRound.get(b.t.projectId) ?? 0;
    if ((la === 0) !== (lb === 0)) return la === 0;
    const ra = ratio(a.t.projectId);
    const rb = ratio(b.t.projectId);
    if (ra !== rb) return ra < rb;
    if (a.t.readySince !== b.t.readySince) return a.t.readySince < b.t.readySince;
    return a.t.taskId < b.t.taskId;
  }
}
