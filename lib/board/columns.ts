// The board's columns: every state with its exact count and its first cards, in ONE query (a window
// count per state, a row number per state, then the lateral look-up of when each shown card entered its
// state — only for the cards shown, never for the whole table).
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { classOfReason, type FailureClass } from "../failures.ts";
import { TASK_STATES, type TaskState, TERMINAL_STATES } from "../states.ts";

export interface BoardCard {
  id: string;
  title: string;
  projectId: string;
  projectName: string | null;
  workerId: string | null;
  workerName: string | null;
  dryRun: boolean;
  revisionCount: number;
  statusReason: string | null;
  /** In triage only: the class of its failure (a retried task keeps the column, not the failure). */
  failureClass: FailureClass | null;
  createdAt: Date;
  /** When the task entered its current state (its last state_changed event; created_at before any). */
  enteredAt: Date;
}

export interface BoardColumn {
  state: TaskState;
  count: number;
  cards: BoardCard[];
}

interface Row {
  id: string;
  title: string;
  project_id: string;
  project_name: string | null;
  worker_id: string | null;
  worker_name: string | null;
  status: TaskState;
  dry_run: boolean;
  revision_count: number;
  status_reason: string | null;
  failure_class: FailureClass | null;
  n: string | number;
  created_ms: string | number;
  entered_ms: string | number;
}

const terminal = sql.raw(TERMINAL_STATES.map((s) => `'${s}'`).join(", "));

/**
 * Every state in TASK_STATES order, with its count and up to `perColumn` cards. Open states show the
 * longest-untouched first (what is stuck rises to the top); done and cancelled show the latest first.
 */
export async function readColumns(
  db: AppDb,
  opts: { projectId?: string | undefined; perColumn: number },
): Promise<BoardColumn[]> {
  const project = opts.projectId ?? null;
  const result = await db.execute(sql`
    with ranked as (
      select t.id, t.title, t.project_id, t.worker_id, t.status, t.dry_run, t.revision_count,
             t.status_reason, t.failure_class, t.created_at, t.status_since,
             count(*) over (partition by t.status) as n,
             row_number() over (
               partition by t.status
               order by case when t.status in (${terminal}) then -extract(epoch from t.updated_at)
                             else extract(epoch from t.updated_at) end, t.id
             ) as rn
        from tasks t
       where (${project}::text is null or t.project_id = ${project}::text)
    )
    select r.id, r.title, r.project_id, p.name as project_name, r.worker_id, w.name as worker_name,
           r.status, r.dry_run, r.revision_count, r.status_reason, r.failure_class, r.n,
           (extract(epoch from r.created_at) * 1000)::float8 as created_ms,
           -- In this state since its move into it (a task the budget sent back keeps its queue time).
           (extract(epoch from r.status_since) * 1000)::float8 as entered_ms
      from ranked r
      left join projects p on p.id = r.project_id
      left join workers w on w.id = r.worker_id
     where r.rn <= ${opts.perColumn}
     order by r.rn`);
  const columns = new Map<TaskState, BoardColumn>(
    TASK_STATES.map((state) => [state, { state, count: 0, cards: [] }]),
  );
  for (const r of rowsOf<Row>(result)) {
    const column = columns.get(r.status);
    if (!column) continue;
    column.count = Number(r.n);
    column.cards.push({
      id: r.id,
      title: r.title,
      projectId: r.project_id,
      projectName: r.project_name,
      workerId: r.worker_id,
      workerName: r.worker_name,
      dryRun: r.dry_run,
      revisionCount: Number(r.revision_count),
      statusReason: r.status_reason,
      failureClass:
        r.status === "failed_needs_triage" ? (r.failure_class ?? classOfReason(r.status_reason)) : null,
      createdAt: new Date(Number(r.created_ms)),
      enteredAt: new Date(Number(r.entered_ms)),
    });
  }
  return [...columns.values()];
}
