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
  const unit = s.estimatedTokensPerLease ?? 10_000;
  // Near the day's cap a lease is a claim on what is left: no more leases than the remaining tokens
  // cover at the estimate, the runs already in flight counted first — a run checks the budget only
  // before its turns, so S free slots must not all start on the day's last few tokens.
  const inFlight = s.workers.reduce((n, w) => n + Math.max(0, w.busy), 0);
  const budgetLeases = Math.ceil((s.budgetRemaining - inFlight * unit) / unit);
  if (budgetLeases <= 0) return [];

  // `key` packs the static order — lane, then revisions first, then age — into one number (lane ≤ 5,
  // readySince < 2^43 ms), so the sort compares numbers; equal keys fall back to the task id.
  type Candidate = { t: ReadyTask; lane: number; key: number };
  // Within one project the dynamic keys (minimum-one, fair share) are equal, so each project's queue
  // is sorted once by the static keys and only the projects' heads are compared per pick: one sort
  // plus O(projects) per lease, not O(tasks) per lease.
  type Queue = { q: Candidate[]; i: number; leases: number; served: number; base: number; weight: number };
  const queues = new Map<string, Queue>();
  for (const t of s.ready) {
    if ((free.get(t.workerId) ?? 0) <= 0) continue;
    let queue = queues.get(t.projectId);
    if (!queue) {
      const p = share.get(t.projectId);
      queue = {
        q: [],
        i: 0,
        leases: 0,
        served: 0,
        base: p?.tokens24h ?? 0,
        weight: p && p.share > 0 ? p.share : 1,
      };
      queues.set(t.projectId, queue);
    }
    const lane = effectiveLane(t, s.now, aging);
    queue.q.push({ t, lane, key: lane * 2 ** 44 + (t.revision ? 0 : 2 ** 43) + t.readySince });
  }
  const heads = [...queues.values()];
  for (const h of heads)
    h.q.sort((a, b) => a.key - b.key || (a.t.taskId < b.t.taskId ? -1 : a.t.taskId > b.t.taskId ? 1 : 0));

  const out: Assignment[] = [];
  while (out.length < budgetLeases) {
    let best: Queue | undefined;
    for (const h of heads) {
      // A worker out of slots stays out for this pass: its tasks can be skipped for good.
      while (h.i < h.q.length && (free.get((h.q[h.i] as Candidate).t.workerId) ?? 0) <= 0) h.i++;
      if (h.i < h.q.length && (!best || before(h, best))) best = h;
    }
    if (!best) break;
    const chosen = best.q[best.i++] as Candidate;
    free.set(chosen.t.workerId, (free.get(chosen.t.workerId) ?? 0) - 1);
    best.served += unit;
    best.leases += 1;
    out.push({
      taskId: chosen.t.taskId,
      workerId: chosen.t.workerId,
      projectId: chosen.t.projectId,
      effectiveLane: chosen.lane,
    });
  }
  return out;

  /** Does queue a's head go before queue b's? Lane, revisions first, minimum one, fair share, age. */
  function before(qa: Queue, qb: Queue): boolean {
    const a = qa.q[qa.i] as Candidate;
    const b = qb.q[qb.i] as Candidate;
    if (a.lane !== b.lane) return a.lane < b.lane;
    if (a.t.revision !== b.t.revision) return a.t.revision;
    // Minimum one: a project not yet served this round goes before one that was.
    if ((qa.leases === 0) !== (qb.leases === 0)) return qa.leases === 0;
    const ra = (qa.base + qa.served) / qa.weight;
    const rb = (qb.base + qb.served) / qb.weight;
    if (ra !== rb) return ra < rb;
    if (a.t.readySince !== b.t.readySince) return a.t.readySince < b.t.readySince;
    return a.t.taskId < b.t.taskId;
  }
}
