// What went wrong and what just happened: the tasks in triage grouped by failure class (exact counts
// and the latest few of each — by when they failed, not by later notes — one query), and the newest task events across the queue (one query).
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { classOfReason, FAILURE_CLASSES, type FailureClass } from "../failures.ts";

export interface FailureGroup {
  failureClass: FailureClass;
  count: number;
  /** The latest tasks of the class (at most `examples`). */
  tasks: { id: string; title: string }[];
}

interface FailureRow {
  failure_class: FailureClass | null;
  status_reason: string | null;
  n: string | number;
  tasks: { id: string; title: string; at: number }[] | string;
}

/**
 * Tasks now in failed_needs_triage by class, in FAILURE_CLASSES order, empty classes left out. A row
 * failed before tasks.failure_class existed has no class: it is classed from its reason, as the
 * transition would have done.
 */
export async function readFailures(
  db: AppDb,
  opts: { projectId?: string | undefined; examples: number },
): Promise<FailureGroup[]> {
  const project = opts.projectId ?? null;
  const result = await db.execute(sql`
    select failure_class, case when failure_class is null then status_reason end as status_reason,
           count(*) as n,
           to_json((array_agg(json_build_object('id', id, 'title', title,
                                                'at', extract(epoch from status_since)) order by status_since desc, id))
                   [1:${opts.examples}::int]) as tasks
      from tasks
     where status = 'failed_needs_triage'
       and (${project}::text is null or project_id = ${project}::text)
     group by 1, 2`);
  // Rows without a class are grouped by reason, so one class can come from several rows: their
  // examples are merged and sorted again, latest first, before the first few are kept.
  const groups = new Map<
    FailureClass,
    { count: number; tasks: { id: string; title: string; at: number }[] }
  >();
  for (const r of rowsOf<FailureRow>(result)) {
    const cls = r.failure_class ?? classOfReason(r.status_reason);
    const group = groups.get(cls) ?? { count: 0, tasks: [] };
    group.count += Number(r.n);
    group.tasks.push(...fromJson(r.tasks));
    groups.set(cls, group);
  }
  return FAILURE_CLASSES.flatMap((cls) => {
    const g = groups.get(cls);
    if (!g) return [];
    const latest = [...g.tasks].sort((a, b) => b.at - a.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return [
      {
        failureClass: cls,
        count: g.count,
        tasks: latest.slice(0, opts.examples).map(({ id, title }) => ({ id, title })),
      },
    ];
  });
}

export interface RecentEvent {
  id: number;
  taskId: string;
  taskTitle: string;
  kind: string;
  actor: string;
  payload: Record<string, unknown>;
  at: Date;
}

interface EventRow {
  id: string | number;
  task_id: string;
  title: string;
  kind: string;
  actor: string;
  payload: Record<string, unknown> | string;
  at_ms: string | number;
}

/** The newest `limit` events, newest first (the log's id order is its commit order). */
export async function readRecentEvents(
  db: AppDb,
  opts: { projectId?: string | undefined; limit: number },
): Promise<RecentEvent[]> {
  const project = opts.projectId ?? null;
  const result = await db.execute(sql`
    select e.id, e.task_id, t.title, e.kind, e.actor, e.payload,
           (extract(epoch from e.created_at) * 1000)::float8 as at_ms
      from task_events e
      join tasks t on t.id = e.task_id
     where (${project}::text is null or t.project_id = ${project}::text)
     order by e.id desc
     limit ${opts.limit}`);
  return rowsOf<EventRow>(result).map((r) => ({
    id: Number(r.id),
    taskId: r.task_id,
    taskTitle: r.title,
    kind: r.kind,
    actor: r.actor,
    payload: fromJson(r.payload),
    at: new Date(Number(r.at_ms)),
  }));
}
