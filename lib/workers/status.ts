// The workers and what they are doing, in ONE query: each worker's slots, the leases that hold them
// (which task, which run, since when, until when — a lease past its expiry is the watchdog's to
// reclaim) and how many ready tasks wait for it.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";

export interface WorkerLease {
  slot: number;
  taskId: string;
  taskTitle: string;
  runId: string;
  since: string;
  expiresAt: string;
  /** The lease is past its expiry (its run died or hangs). */
  lapsed: boolean;
}

export interface WorkerStatus {
  id: string;
  name: string;
  agentType: string;
  modelTier: string;
  tools: string[];
  slots: number;
  active: boolean;
  leases: WorkerLease[];
  /** Ready tasks assigned to it, waiting for a slot. */
  queued: number;
}

type LeaseRow = Omit<WorkerLease, "lapsed" | "slot"> & { slot: number | string };
type Row = {
  id: string;
  name: string;
  agent_type: string;
  model_tier: string;
  tools: string[] | string;
  slots: number | string;
  active: boolean;
  leases: LeaseRow[] | string | null;
  queued: number | string;
};

export async function readWorkers(db: AppDb, now: Date): Promise<WorkerStatus[]> {
  const result = await db.execute(sql`
    select w.id, w.name, w.agent_type, w.model_tier, w.tools, w.slots, w.active,
           (select jsonb_agg(jsonb_build_object('slot', l.slot, 'taskId', l.task_id, 'taskTitle', t.title,
                   'runId', l.run_id, 'since', l.created_at, 'expiresAt', l.expires_at) order by l.slot)
              from worker_leases l join tasks t on t.id = l.task_id
             where l.worker_id = w.id) as leases,
           (select count(*) from tasks t where t.worker_id = w.id and t.status = 'ready') as queued
      from workers w
     order by w.id`);
  const at = now.getTime();
  return rowsOf<Row>(result).map((r) => ({
    id: r.id,
    name: r.name,
    agentType: r.agent_type,
    modelTier: r.model_tier,
    tools: fromJson(r.tools),
    slots: Number(r.slots),
    active: r.active,
    leases: (r.leases === null ? [] : fromJson(r.leases)).map((l) => {
      const since = new Date(l.since).toISOString();
      const expiresAt = new Date(l.expiresAt).toISOString();
      return { ...l, slot: Number(l.slot), since, expiresAt, lapsed: Date.parse(expiresAt) <= at };
    }),
    queued: Number(r.queued),
  }));
}
