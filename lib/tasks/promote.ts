// Dependency promotion: when a task reaches `done`, its triaged dependents whose dependencies are now
// all done move intake → ready. Looks only at the finished task's dependents (indexed), never all tasks.
import { sql } from "drizzle-orm";
import type { AppDb } from "../../db/types.ts";
import { TransitionConflictError } from "./errors.ts";
import { type TransitionResult, transition } from "./transition.ts";

type Candidate = { id: string; version: number };

export async function promotableDependents(db: AppDb, doneTaskId: string): Promise<Candidate[]> {
  const result = await db.execute(sql`
    select t.id, t.version
      from task_dependencies d
      join tasks t on t.id = d.task_id
     where d.depends_on_id = ${doneTaskId}
       and t.status = 'intake'
       and t.triaged_at is not null
       and not exists (
         select 1 from task_dependencies d2 join tasks t2 on t2.id = d2.depends_on_id
          where d2.task_id = t.id and t2.status <> 'done')
     order by t.id`);
  return (result as unknown as { rows: Candidate[] }).rows.map((r) => ({
    id: r.id,
    version: Number(r.version),
  }));
}

/** Promotes every ready-to-go dependent. One that another actor moved meanwhile is skipped, not an error. */
export async function promoteDependents(
  db: AppDb,
  doneTaskId: string,
  actor: string,
): Promise<TransitionResult[]> {
  const promoted: TransitionResult[] = [];
  for (const c of await promotableDependents(db, doneTaskId)) {
    try {
      promoted.push(
        await transition(db, {
          taskId: c.id,
          from: "intake",
          to: "ready",
          expectedVersion: c.version,
          reason: `dependency ${doneTaskId} is done`,
          actor,
        }),
      );
    } catch (err) {
      if (!(err instanceof TransitionConflictError)) throw err;
    }
  }
  return promoted;
}
