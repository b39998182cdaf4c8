// Dependency promotion: when a task reaches `done`, its triaged dependents whose dependencies are now
// all done move intake → ready. Looks only at the finished task's dependents (indexed), never all
// tasks. Each move is keyed `<keyBase>:<dependent>`, so a retried step replays the moves it already
// made (returning their outbox rows to send again) and makes the rest.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { GuardFailedError, TransitionConflictError } from "./errors.ts";
import { guards } from "./guards.ts";
import { type TransitionResult, transition } from "./transition.ts";

type Candidate = { id: string; version: number };

export async function promotableDependents(
  db: AppDb,
  doneTaskId: string,
  keyBase: string,
): Promise<Candidate[]> {
  const result = await db.execute(sql`
    select t.id, t.version
      from task_dependencies d
      join tasks t on t.id = d.task_id
     where d.depends_on_id = ${doneTaskId}
       and ((t.status = 'intake' and t.triaged_at is not null
             and not exists (
               select 1 from task_dependencies d2 join tasks t2 on t2.id = d2.depends_on_id
                where d2.task_id = t.id and t2.status <> 'done'))
            or exists (
              select 1 from task_events e
               where e.task_id = t.id and e.idempotency_key = ${keyBase} || ':' || t.id))
     order by t.id`);
  return rowsOf<Candidate>(result).map((r) => ({
    id: r.id,
    version: Number(r.version),
  }));
}

/** Promotes every ready-to-go dependent. One that another actor moved meanwhile is skipped, not an error. */
export async function promoteDependents(
  db: AppDb,
  doneTaskId: string,
  opts: { actor: string; keyBase: string },
): Promise<TransitionResult[]> {
  const promoted: TransitionResult[] = [];
  for (const c of await promotableDependents(db, doneTaskId, opts.keyBase)) {
    try {
      promoted.push(
        await transition(db, {
          taskId: c.id,
          from: "intake",
          to: "ready",
          key: `${opts.keyBase}:${c.id}`,
          guards: [guards.dependenciesDone()],
          reason: `dependency ${doneTaskId} is done`,
          actor: opts.actor,
        }),
      );
    } catch (err) {
      if (!(err instanceof TransitionConflictError || err instanceof GuardFailedError)) throw err;
    }
  }
  return promoted;
}
