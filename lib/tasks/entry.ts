// "The event that moved the task into a state": the newest `state_changed` event whose `to` is that
// state. Stamp waits, the board, the watchdog's lost waits and the CRM's inbound moves all date a
// stage from it (a state entered twice is dated from its latest entry), so it is written once, here.
import { type SQL, sql } from "drizzle-orm";

/**
 * SQL row source (id, created_at): the newest entry of the task `taskRef` into the state `stateSql`.
 * Both are SQL — a bound value (`sql`${taskId}``) or a column of the outer query (`sql`t.id``), so the
 * same text serves a lookup by id and a lateral join over many tasks.
 */
export const entrySql = (taskRef: SQL, stateSql: SQL) => sql`
  select e.id, e.created_at from task_events e
   where e.task_id = ${taskRef} and e.kind = 'state_changed' and e.payload->>'to' = ${stateSql}
   order by e.id desc limit 1`;

/** The same for the state the task is in now (`t` is the outer query's tasks row). */
export const currentEntrySql = () => entrySql(sql`t.id`, sql`t.status::text`);
