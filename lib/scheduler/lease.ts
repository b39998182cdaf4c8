// Leasing a worker slot: ONE transition ready → working whose guards are a running scheduler and a
// free slot, whose companion
// rows are the agent run and the slot lease (the lease's (worker, slot) primary key makes two leases
// of one slot impossible, even under races), which sets the task's current run and lease expiry, and
// which owes `task/dispatched` through the outbox.
import { sql } from "drizzle-orm";
import { pgErrorOf, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { taskDispatched } from "../events.ts";
import { GuardFailedError } from "../tasks/errors.ts";
import { guards } from "../tasks/guards.ts";
import { type TransitionResult, transition } from "../tasks/transition.ts";

/** How long a lease lasts: from the lease, and again from each step of its run (lib/work/context.ts renewHold). */
export const LEASE_MINUTES = 30;

export interface LeaseInput {
  taskId: string;
  workerId: string;
  runId: string;
  /** The scheduling step's key: a retried step replays its lease. */
  key: string;
  now: Date;
  leaseMinutes?: number;
}

export async function leaseTask(db: AppDb, input: LeaseInput): Promise<TransitionResult> {
  const expires = new Date(input.now.getTime() + (input.leaseMinutes ?? LEASE_MINUTES) * 60_000);
  const w = input.workerId;
  try {
    return await transition(db, {
      taskId: input.taskId,
      from: "ready",
      to: "working",
      key: input.key,
      guards: [guards.schedulerRunning(), guards.workerAssigned(w), guards.slotFree(w)],
      set: { currentRunId: input.runId, leaseExpiresAt: expires },
      reason: `leased by ${w}`,
      actor: "fn:schedule",
      companions: [
        {
          table: "agent_runs",
          values: {
            id: input.runId,
            task_id: input.taskId,
            worker_id: w,
            attempt: sql`(select count(*) + 1 from agent_runs ar where ar.task_id = ${input.taskId})`,
          },
        },
        {
          table: "worker_leases",
          values: {
            worker_id: w,
            // The lowest free slot; none free → null → the statement fails and nothing moves.
            slot: sql`(select s from generate_series(1, (select slots from workers where id = ${w})) s
                        where s not in (select slot from worker_leases where worker_id = ${w}) order by s limit 1)`,
            task_id: input.taskId,
            run_id: input.runId,
            expires_at: expires,
          },
        },
      ],
      emit: [taskDispatched.create({ taskId: input.taskId, runId: input.runId, workerId: w })],
    });
  } catch (err) {
    // A concurrent lease took the last slot between the guard and the insert.
    const pg = pgErrorOf(err);
    if (
      (pg?.code === "23505" && pg.constraint === "worker_leases_worker_id_slot_pk") ||
      pg?.code === "23502"
    ) {
      throw new GuardFailedError(input.taskId, "working", "slot_free", { workerId: w });
    }
    throw err;
  }
}

/** Frees the run's slot (idempotent: a released slot stays released). Returns whether it held one. */
export async function releaseLease(db: AppDb, runId: string): Promise<boolean> {
  const result = await db.execute(sql`delete from worker_leases where run_id = ${runId} returning worker_id`);
  return rowsOf<unknown>(result).length > 0;
}
