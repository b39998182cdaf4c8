// The tasks that wait on one task, and whether each is now free to go: what a skip reports. ONE query
// over the finished task's dependents (indexed), never all tasks. "Unblocked" means every dependency
// is done and the dependent is still in intake: promote moves it to ready when it was triaged (on the
// task/state.changed the skip owes), intake does when it triages it.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { TaskState } from "../states.ts";

export interface Dependent {
  id: string;
  title: string;
  state: TaskState;
  triaged: boolean;
  /** Its dependencies that are not done yet (empty: nothing holds it back any more). */
  waitingOn: string[];
  unblocked: boolean;
}

type Row = {
  id: string;
  title: string;
  status: TaskState;
  triaged: boolean;
  waiting_on: string[] | string | null;
};

export async function readDependents(db: AppDb, taskId: string): Promise<Dependent[]> {
  const result = await db.execute(sql`
    select t.id, t.title, t.status, t.triaged_at is not null as triaged,
           (select jsonb_agg(d2.depends_on_id order by d2.depends_on_id)
              from task_dependencies d2 join tasks t2 on t2.id = d2.depends_on_id
             where d2.task_id = t.id and t2.status <> 'done') as waiting_on
      from task_dependencies d
      join tasks t on t.id = d.task_id
     where d.depends_on_id = ${taskId}
     order by t.id`);
  return rowsOf<Row>(result).map((r) => {
    const waitingOn = r.waiting_on === null ? [] : fromJson(r.waiting_on);
    return {
      id: r.id,
      title: r.title,
      state: r.status,
      triaged: r.triaged,
      waitingOn,
      unblocked: waitingOn.length === 0 && r.status === "intake",
    };
  });
}
