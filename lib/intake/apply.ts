// Intake's writes around triage: reading what triage needs (one query), recording the verdict on the
// task with a `triage` event (one statement), then moving intake → ready under the
// `dependencies_done` guard — or leaving the task in intake, waiting for its dependencies, for
// promote to move later. A task nobody can take goes to failed_needs_triage with its class. A
// retriage (lib/tasks/retriage.ts) does the same for an untriaged task a person retried.
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { TaskState } from "../states.ts";
import { GuardFailedError, TransitionConflictError } from "../tasks/errors.ts";
import { guards } from "../tasks/guards.ts";
import { cancelledDependencyReason, cancelledDependencySql } from "../tasks/promote.ts";
import { type TransitionResult, transition } from "../tasks/transition.ts";
import { LANES, type TriageContext, type TriageOutcome } from "./triage.ts";

type ContextRow = {
  id: string;
  title: string;
  description: string;
  priority: number;
  worker_id: string | null;
  rubric: string[];
  status: TaskState;
  triaged: boolean;
  project: TriageContext["project"];
  workers: TriageContext["workers"] | null;
};

/**
 * The task, its project and the active workers; `skip` when the task is no longer waiting for triage
 * where `from` says (intake, or for a retriage the state a person retried it from, still untriaged).
 */
export async function loadTriageContext(
  db: AppDb,
  taskId: string,
  from: TaskState = "intake",
): Promise<TriageContext | { skip: TaskState } | null> {
  const result = await db.execute(sql`
    select t.id, t.title, t.description, t.priority, t.worker_id, t.rubric, t.status,
           t.triaged_at is not null as triaged,
           jsonb_build_object('id', p.id, 'name', p.name, 'rubricDefaults', p.rubric_defaults,
                              'requiresInternalStamp', p.requires_internal_stamp) as project,
           (select jsonb_agg(jsonb_build_object('id', w.id, 'agentType', w.agent_type, 'tools', w.tools) order by w.id)
              from workers w where w.active) as workers
      from tasks t join projects p on p.id = t.project_id
     where t.id = ${taskId}`);
  const [row] = rowsOf<ContextRow>(result);
  if (!row) return null;
  if (row.status !== from || (from !== "intake" && row.triaged)) return { skip: row.status };
  return {
    task: {
      id: row.id,
      title: row.title,
      description: row.description,
      priority: Number(row.priority),
      workerId: row.worker_id,
      rubric: row.rubric,
    },
    project: row.project,
    workers: row.workers ?? [],
  };
}

export type IntakeOutcome =
  | { state: "ready"; transition: TransitionResult }
  | { state: "failed_needs_triage"; transition: TransitionResult; reason: string }
  | { state: "waiting"; reason: string }
  | { state: "skipped"; reason: string };

/** A retriage's request: where the task waits, and the person's retry as the audit words it. */
export interface RetriageOf {
  from: TaskState;
  reason: string;
}

/**
 * Records the verdict (one statement) and moves the task on. `key` makes a retried step a replay. A
 * retriage moves the task from where it waits, held as the person's retry was (every dependency
 * ended), and its reason carries the retry's.
 */
export async function applyTriage(
  db: AppDb,
  taskId: string,
  outcome: TriageOutcome,
  key: string,
  retry?: RetriageOf,
): Promise<IntakeOutcome> {
  const v = outcome.verdict;
  const from = retry?.from ?? "intake";
  const lane = LANES.indexOf(v.priority);
  const recorded = await db.execute(sql`
    with eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    done as (
      update tasks t
         set triaged_at = now(), priority = ${lane}, worker_id = ${v.worker}, rubric = ${toJsonb(v.rubric)}::jsonb,
             requires_internal_stamp = ${v.internal_stamp_required}, last_event_id = (select id from eid), updated_at = now(),
             status_reason = case when exists (
               select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on_id
                where d.task_id = t.id and dt.status <> 'done') then 'triaged; waiting for its dependencies' else t.status_reason end
       where t.id = ${taskId} and t.status = ${from}::task_state and (t.status = 'intake' or t.triaged_at is null)
         and not exists (select 1 from task_events e where e.task_id = t.id and e.kind = 'triage'
                          and e.payload->>'key' = ${key})
      returning t.id
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor)
      select (select id from eid), done.id, 'triage',
             ${toJsonb({ via: outcome.via, reason: v.reason, key, verdict: v, fallback: outcome.fallback ?? null, model: outcome.model ?? null, attempts: outcome.attempts })}::jsonb,
             'fn:intake'
        from done
    )
    select 1`);
  void recorded;
  try {
    const triaged = `triaged (${outcome.via}): ${v.reason}`;
    const moved = await transition(db, {
      taskId,
      from,
      to: "ready",
      key: `${key}:ready`,
      guards: [retry ? guards.dependenciesSettled() : guards.dependenciesDone()],
      reason: retry ? `${retry.reason}; ${triaged}` : triaged,
      actor: "fn:intake",
    });
    return { state: "ready", transition: moved };
  } catch (err) {
    if (
      err instanceof GuardFailedError &&
      (err.guard === "dependencies_done" || err.guard === "dependencies_settled")
    ) {
      // A dependency already cancelled (before this task was even submitted, so promote's repair of
      // its dependents never saw this one): waiting would be forever. Triage, as promote would.
      const cancelled = retry ? undefined : await cancelledDependencyOf(db, taskId);
      if (cancelled) {
        const reason = cancelledDependencyReason(cancelled);
        try {
          const failed = await transition(db, {
            taskId,
            from: "intake",
            to: "failed_needs_triage",
            key: `${key}:dependency`,
            reason,
            actor: "fn:intake",
          });
          return { state: "failed_needs_triage", transition: failed, reason };
        } catch (moved) {
          if (!(moved instanceof TransitionConflictError)) throw moved;
        }
      }
      return { state: "waiting", reason: "triaged; waiting for its dependencies to be done" };
    }
    if (err instanceof Error && "current" in err) {
      return {
        state: "skipped",
        reason: `task left intake meanwhile (${String((err as { current: unknown }).current)})`,
      };
    }
    throw err;
  }
}

/** A cancelled task `taskId` depends on, or undefined. */
async function cancelledDependencyOf(db: AppDb, taskId: string): Promise<string | undefined> {
  const result = await db.execute(
    sql`select ${cancelledDependencySql} as id from tasks t where t.id = ${taskId}`,
  );
  return rowsOf<{ id: string | null }>(result)[0]?.id ?? undefined;
}
