// Leaked leases: worker_leases rows whose run already ended, or whose task is no longer `working` on
// that run (the lease's run always exists: a foreign key). Each is freed with the run's own release
// statement (lib/work/release.ts), which also writes the `watchdog` event explaining it — only when
// it really freed the slot, so a second pass, or a retried step, writes nothing twice. A lease
// merely past its expiry is not a leak: a run that stopped working is the stuck check's.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { publish } from "../outbox/publish.ts";
import { releaseRun } from "../work/release.ts";
import { leakReason, minutesBefore, WATCHDOG_ACTOR } from "./decide.ts";

export interface LeakedLease {
  workerId: string;
  slot: number;
  taskId: string;
  runId: string;
  why: string;
}

type Row = {
  worker_id: string;
  slot: number;
  task_id: string;
  run_id: string;
  run_status: string;
  task_status: string;
  current_run_id: string | null;
};

/**
 * Leases whose holder ended or moved on more than `graceMinutes` ago: a run's own release follows its
 * last step within moments (the review may move the task before the run's `finally` frees the slot),
 * and the watchdog must not race it.
 */
export async function findLeakedLeases(
  db: AppDb,
  opts: { now: Date; graceMinutes: number; limit: number },
): Promise<LeakedLease[]> {
  const cutoff = minutesBefore(opts.now, opts.graceMinutes).toISOString();
  const result = await db.execute(sql`
    select l.worker_id, l.slot, l.task_id, l.run_id, r.status as run_status, t.status as task_status,
           t.current_run_id
      from worker_leases l
      join agent_runs r on r.id = l.run_id
      join tasks t on t.id = l.task_id
     where (r.status <> 'running' and coalesce(r.ended_at, l.created_at) < ${cutoff}::timestamptz)
        or ((t.status <> 'working' or t.current_run_id is distinct from l.run_id)
            and t.updated_at < ${cutoff}::timestamptz)
     order by l.created_at
     limit ${opts.limit}`);
  const out: LeakedLease[] = [];
  for (const r of rowsOf<Row>(result)) {
    const why = leakReason({
      runId: r.run_id,
      runStatus: r.run_status,
      taskStatus: r.task_status,
      currentRunId: r.current_run_id,
    });
    if (why)
      out.push({ workerId: r.worker_id, slot: Number(r.slot), taskId: r.task_id, runId: r.run_id, why });
  }
  return out;
}

type LeaseDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

export async function releaseLeaked(
  deps: LeaseDeps,
  lease: LeakedLease,
  at: string,
): Promise<{ released: boolean }> {
  const r = await releaseRun(deps.db, {
    runId: lease.runId,
    // Only a run still marked running takes this status; an ended run keeps how it ended.
    status: "cancelled",
    audit: {
      actor: WATCHDOG_ACTOR,
      kind: "watchdog",
      payload: {
        action: "lease_released",
        runId: lease.runId,
        workerId: lease.workerId,
        slot: lease.slot,
        why: `the slot's lease was leaked: ${lease.why}`,
        at,
      },
    },
  });
  await publish(deps, r.outbox);
  return { released: r.released };
}
