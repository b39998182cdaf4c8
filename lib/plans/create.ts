// Creating a plan: a title, a project and up to 100 tasks that name each other by local refs in
// `depends_on` (or name existing tasks by id). The graph is checked before anything is written
// (unknown refs and cycles are 400s naming the field; graph.ts). Then, in one transaction:
//   1. one statement inserts the plan row (only if its project exists) and reads back what the input
//      names — the workers and the existing tasks — so a bad name is refused with its exact field;
//   2. submitMany inserts every task, its edges, `submitted` events and `task/submitted` outbox rows
//      in one statement, with ids generated here so the refs could be mapped to them beforehand.
// Why a transaction and not one statement: submitMany's statement cannot carry the plan row, and
// the tasks' (plan_id, project_id) foreign key needs that row to exist when the statement ends. The
// transaction keeps the plan and its tasks all or nothing (an inactive worker refuses the submit
// after the plan row is written; the rollback removes it).
// Edges to existing tasks need no cycle check here: a task created by this statement has no
// dependents yet (its id exists nowhere else), so nothing can lead back to it. Edges added later
// between existing tasks go through lib/tasks/dependencies.ts, which checks under the DAG lock.
import { sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { plans } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { ID_PATTERN, newId } from "../ids.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { DEFAULT_PROJECT_ID, submitTaskInput } from "../tasks/input.ts";
import { MAX_BATCH, type SubmitOptions, submitMany, type TaskRow } from "../tasks/submit.ts";
import { text } from "../text.ts";
import { planGraph } from "./graph.ts";

export type PlanRow = typeof plans.$inferSelect;

const planTaskInput = submitTaskInput
  .pick({ title: true, description: true, priority: true, worker: true, rubric: true, dry_run: true })
  .extend({
    ref: text({ min: 1, max: 64 }).refine(
      (ref) => !ID_PATTERN.test(ref),
      "must not look like a task id (depends_on could not tell them apart)",
    ),
    depends_on: z
      .array(text({ min: 1, max: 64 }))
      .max(50)
      .refine((deps) => new Set(deps).size === deps.length, "must not repeat a dependency")
      .optional(),
  });

export const createPlanInput = z.strictObject({
  project: text({ min: 1, max: 64 }).optional(),
  title: text({ trim: true, min: 1, minMessage: "must not be empty", max: 200 }),
  description: text({ max: 20_000, multiline: true }).optional(),
  tasks: z.array(planTaskInput).min(1).max(MAX_BATCH),
});
export type CreatePlanInput = z.input<typeof createPlanInput>;

export interface CreatedPlan {
  plan: PlanRow;
  /** In input order, each with the ref it was given. */
  tasks: { ref: string; task: TaskRow; dependsOn: string[] }[];
  /** The `task/submitted` rows written with the tasks; publish them after the commit. */
  outbox: OutboxMessage[];
}

type Checked = {
  plan: Record<string, unknown> | string | null;
  workers: { id: string; active: boolean }[] | string;
  known: string[] | string;
};
const invalid = (field: string, message: string) =>
  new DomainError("VALIDATION", `${field}: ${message}`, { field });

export async function createPlan(
  db: AppDb,
  raw: unknown,
  opts: Pick<SubmitOptions, "actor"> & { source?: SubmitOptions["source"] } = { actor: "api" },
): Promise<CreatedPlan> {
  const input = createPlanInput.parse(raw);
  const graph = planGraph(input.tasks);
  const project = input.project ?? DEFAULT_PROJECT_ID;
  const planId = newId("plan");
  // Consecutive timestamps keep the ids (which sort by time) in input order: GET lists them so.
  const t0 = Date.now();
  const ids = new Map(input.tasks.map((task, i) => [task.ref, newId("task", t0 + i)]));
  const workerIds = [...new Set(input.tasks.flatMap((task) => (task.worker ? [task.worker] : [])))];

  return db.transaction(async (tx) => {
    const result = await tx.execute(sql`
      with ins as (
        insert into plans (id, project_id, title, description)
        select ${planId}, p.id, ${input.title}, ${input.description ?? ""} from projects p where p.id = ${project}
        returning *
      )
      select (select to_jsonb(ins.*) from ins) as plan,
             (select coalesce(jsonb_agg(jsonb_build_object('id', w.id, 'active', w.active)), '[]'::jsonb)
                from workers w where w.id in (select jsonb_array_elements_text(${JSON.stringify(workerIds)}::jsonb))) as workers,
             (select coalesce(jsonb_agg(t.id), '[]'::jsonb)
                from tasks t where t.id in (select jsonb_array_elements_text(${JSON.stringify(graph.existing.map((e) => e.id))}::jsonb))) as known`);
    const checked = rowsOf<Checked>(result)[0];
    if (!checked?.plan) throw invalid("project", `Project '${project}' does not exist.`);
    const workers = new Map(fromJson(checked.workers).map((w) => [w.id, w.active]));
    input.tasks.forEach((task, i) => {
      if (!task.worker) return;
      const active = workers.get(task.worker);
      if (active === undefined) throw invalid(`tasks.${i}.worker`, `Worker '${task.worker}' does not exist.`);
      if (!active) throw invalid(`tasks.${i}.worker`, `Worker '${task.worker}' is inactive.`);
    });
    const known = new Set(fromJson(checked.known));
    for (const e of graph.existing) {
      if (!known.has(e.id)) throw invalid(e.field, `Task ${e.id} does not exist.`);
    }

    const dependsOn = input.tasks.map((task) => (task.depends_on ?? []).map((dep) => ids.get(dep) ?? dep));
    const outcomes = await submitMany(
      tx,
      input.tasks.map(({ ref, depends_on: _, ...task }, i) => ({
        id: ids.get(ref) as string,
        input: {
          ...task,
          project,
          plan: planId,
          ...(dependsOn[i]?.length ? { depends_on: dependsOn[i] } : {}),
        },
        source: opts.source ?? "api",
        actor: opts.actor,
      })),
    );
    const tasks = outcomes.map((o, i) => {
      if ("error" in o) throw o.error; // only a repeated source reference; plans carry none
      return { ref: (input.tasks[i] as { ref: string }).ref, task: o.task, dependsOn: dependsOn[i] ?? [] };
    });
    const plan = fromJson(checked.plan) as Record<string, unknown>;
    return {
      plan: {
        id: plan.id as string,
        projectId: plan.project_id as string,
        title: plan.title as string,
        description: plan.description as string,
        createdAt: new Date(plan.created_at as string),
      },
      tasks,
      outbox: outcomes.flatMap((o) => ("outbox" in o ? o.outbox : [])),
    };
  });
}
