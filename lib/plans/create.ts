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
// With an Idempotency-Key, a repeat of the same body answers the plan made the first time (its tasks
// in input order, as ids sort by time), and another body under the key is a CONFLICT. The key is
// unique on plans, so of racing creates one inserts and the others find its plan.
// Edges to existing tasks need no cycle check here: a task created by this statement has no
// dependents yet (its id exists nowhere else), so nothing can lead back to it. Edges added later
// between existing tasks go through lib/tasks/dependencies.ts, which checks under the DAG lock.
import { createHash } from "node:crypto";
import { and, asc, eq, sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import { plans, tasks as tasksTable } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { ID_PATTERN, newId } from "../ids.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { stableJson } from "../stable-json.ts";
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
  /** false: an Idempotency-Key repeat, answered with the plan made the first time (nothing written). */
  created: boolean;
  /** In input order, each with the ref it was given. */
  tasks: { ref: string; task: TaskRow; dependsOn: string[] }[];
  /** The `task/submitted` rows written with the tasks; publish them after the commit. */
  outbox: OutboxMessage[];
}

type Checked = {
  plan: Record<string, unknown> | string | null;
  project_exists: boolean;
  workers: { id: string; active: boolean }[] | string;
  known: string[] | string;
};
const invalid = (field: string, message: string) =>
  new DomainError("VALIDATION", `${field}: ${message}`, { field });

/** Thrown inside the transaction when a concurrent create took the key first (rolls ours back). */
class KeyTaken extends Error {}

/** The plan made under `key` the first time, answered again — or CONFLICT for another body. */
async function replay(
  db: AppDb,
  key: string,
  hash: string,
  input: z.output<typeof createPlanInput>,
): Promise<CreatedPlan | undefined> {
  const [plan] = await db.select().from(plans).where(eq(plans.idempotencyKey, key));
  if (!plan) return undefined;
  if (plan.submissionHash !== hash) {
    throw new DomainError(
      "CONFLICT",
      `The idempotency key '${key}' was already used for a different plan (${plan.id}).`,
      { field: "Idempotency-Key", details: { planId: plan.id } },
    );
  }
  // The plan's own tasks: written in its transaction, so with its created_at (a task added to the plan
  // later has its own); in input order, as their ids sort by time.
  const rows = await db
    .select()
    .from(tasksTable)
    // Compared in SQL: a JS Date keeps milliseconds, the column microseconds.
    .where(
      and(
        eq(tasksTable.planId, plan.id),
        sql`${tasksTable.createdAt} = (select p.created_at from plans p where p.id = ${plan.id})`,
      ),
    )
    .orderBy(asc(tasksTable.id));
  if (rows.length !== input.tasks.length) {
    throw new DomainError(
      "CONFLICT",
      `The idempotency key '${key}' names plan ${plan.id}, whose ${rows.length} original tasks no longer match this body's ${input.tasks.length}.`,
      { field: "Idempotency-Key", details: { planId: plan.id } },
    );
  }
  const ids = new Map(input.tasks.map((task, i) => [task.ref, (rows[i] as TaskRow).id]));
  return {
    plan,
    created: false,
    tasks: input.tasks.map((task, i) => ({
      ref: task.ref,
      task: rows[i] as TaskRow,
      dependsOn: (task.depends_on ?? []).map((dep) => ids.get(dep) ?? dep),
    })),
    outbox: [],
  };
}

export async function createPlan(
  db: AppDb,
  raw: unknown,
  opts: Pick<SubmitOptions, "actor"> & { source?: SubmitOptions["source"]; key?: string | undefined } = {
    actor: "api",
  },
): Promise<CreatedPlan> {
  const input = createPlanInput.parse(raw);
  const graph = planGraph(input.tasks);
  const key = opts.key;
  const hash = createHash("sha256").update(stableJson(input)).digest("hex");
  if (key !== undefined) {
    const earlier = await replay(db, key, hash, input);
    if (earlier) return earlier;
  }
  try {
    return await insertPlan(db, input, graph, { ...opts, key, hash });
  } catch (err) {
    if (!(err instanceof KeyTaken) || key === undefined) throw err;
    const earlier = await replay(db, key, hash, input);
    if (!earlier) throw new DomainError("CONFLICT", "A concurrent create with the same key failed; retry.");
    return earlier;
  }
}

async function insertPlan(
  db: AppDb,
  input: z.output<typeof createPlanInput>,
  graph: ReturnType<typeof planGraph>,
  opts: Pick<SubmitOptions, "actor"> & {
    source?: SubmitOptions["source"];
    key: string | undefined;
    hash: string;
  },
): Promise<CreatedPlan> {
  const project = input.project ?? DEFAULT_PROJECT_ID;
  const planId = newId("plan");
  // Consecutive timestamps keep the ids (which sort by time) in input order: GET lists them so.
  const t0 = Date.now();
  const ids = new Map(input.tasks.map((task, i) => [task.ref, newId("task", t0 + i)]));
  const workerIds = [...new Set(input.tasks.flatMap((task) => (task.worker ? [task.worker] : [])))];

  return db.transaction(async (tx) => {
    const result = await tx.execute(sql`
      with ins as (
        insert into plans (id, project_id, title, description, idempotency_key, submission_hash)
        select ${planId}, p.id, ${input.title}, ${input.description ?? ""}, ${opts.key ?? null}, ${opts.hash}
          from projects p where p.id = ${project}
        on conflict (idempotency_key) where idempotency_key is not null do nothing
        returning *
      )
      select (select to_jsonb(ins.*) from ins) as plan,
             exists (select 1 from projects p where p.id = ${project}) as project_exists,
             (select coalesce(jsonb_agg(jsonb_build_object('id', w.id, 'active', w.active)), '[]'::jsonb)
                from workers w where w.id in (select jsonb_array_elements_text(${toJsonb(workerIds)}::jsonb))) as workers,
             (select coalesce(jsonb_agg(t.id), '[]'::jsonb)
                from tasks t where t.id in (select jsonb_array_elements_text(${toJsonb(graph.existing.map((e) => e.id))}::jsonb))) as known`);
    const checked = rowsOf<Checked>(result)[0];
    if (!checked?.project_exists) throw invalid("project", `Project '${project}' does not exist.`);
    if (!checked.plan) throw new KeyTaken();
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
        idempotencyKey: (plan.idempotency_key as string | null) ?? null,
        submissionHash: (plan.submission_hash as string | null) ?? null,
        createdAt: new Date(plan.created_at as string),
      },
      created: true,
      tasks,
      outbox: outcomes.flatMap((o) => ("outbox" in o ? o.outbox : [])),
    };
  });
}
