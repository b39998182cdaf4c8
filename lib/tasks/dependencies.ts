// Dependency edges added between EXISTING tasks (a spawned subtask, a task told to wait for another),
// with the cycle check in the database. Race-proof by construction:
//   - one transaction takes a transaction-scoped advisory lock on the whole DAG (a constant key), so
//     edge additions are serialised: of two that would together close a cycle (A→B and B→A at once)
//     the second runs its check after the first has committed, sees its edge and is refused;
//   - the reachability check (a recursive CTE) and the INSERT are one statement, so the check reads
//     the same snapshot it guards, taken after the lock was granted;
//   - an edge is inserted only when both of its tasks are visible in that snapshot. New tasks come in
//     with their own edges in one statement (submit.ts), and a task visible here is visible with all
//     of them — so a task committed after the snapshot (whose edges the check could not see) is
//     refused as unknown rather than checked blind, although the foreign key would accept it.
// One lock for the whole DAG, not per connected component: components merge when an edge joins them,
// which would need two locks taken in order and a re-check; edges between existing tasks are rare
// (subtasks, manual links), so one short lock costs nothing measurable. New tasks (submit, plans) do
// not take it: a task created by a statement has no dependents, so no cycle can pass through it.
// On PGlite the lock is a no-op in effect: its transactions run one at a time anyway.
// States are not looked at: a caller adding a dependency to a task past intake decides what that
// task then waits for (spawn.ts: the parent's move into review is guarded by dependenciesDone).
import { sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { ID_PATTERN } from "../ids.ts";
import { taskNotFound } from "./errors.ts";

/** The advisory lock key of the task DAG ("fmdag" in ASCII). */
export const DAG_LOCK_KEY = 0x666d_6461_67;

/** Takes the DAG lock until the end of the current transaction (call it inside one). */
export async function lockDag(db: AppDb): Promise<void> {
  await db.execute(sql`select pg_advisory_xact_lock(${DAG_LOCK_KEY}::bigint)::text as locked`);
}

export const addDependenciesInput = z.strictObject({
  taskId: z.string().regex(ID_PATTERN, "must be a task id"),
  dependsOn: z
    .array(z.string().regex(ID_PATTERN, "must be a task id"))
    .min(1)
    .max(50)
    .refine((ids) => new Set(ids).size === ids.length, "must not repeat a task id"),
  /** Who added the edges, for the `dependency_added` event. */
  actor: z.string().min(1).max(200).default("system"),
});
export type AddDependenciesInput = z.input<typeof addDependenciesInput>;

export interface AddedDependencies {
  taskId: string;
  /** The edges this call inserted; an edge that already existed is a no-op and is not listed. */
  added: string[];
}

type Row = {
  task_known: boolean;
  missing: string[] | string;
  cyclic: boolean;
  added: string[] | string;
  reach: [string, string | null][] | string | null;
};

/**
 * Makes `taskId` depend on each of `dependsOn` (all existing tasks), or refuses the lot: an unknown
 * task, or an edge that would close a cycle (VALIDATION naming the cycle's members in order).
 * Runs in its own transaction, or in a savepoint of the caller's.
 */
export async function addDependencies(db: AppDb, raw: AddDependenciesInput): Promise<AddedDependencies> {
  const input = addDependenciesInput.parse(raw);
  return db.transaction(async (tx) => {
    await lockDag(tx);
    const result = await tx.execute(sql`
      with recursive
      want as (
        select d.id, d.ord from jsonb_array_elements_text(${toJsonb(input.dependsOn)}::jsonb)
          with ordinality as d(id, ord)
      ),
      -- Every task reachable from the new dependencies along existing edges, each with a task it was
      -- reached from (null: one of the new dependencies itself). Reaching taskId means a cycle.
      reach(node, via) as (
        select w.id, null::text from want w
        union
        select e.depends_on_id, e.task_id from reach r join task_dependencies e on e.task_id = r.node
         where r.node <> ${input.taskId}
      ),
      missing as (select w.id, w.ord from want w where not exists (select 1 from tasks t where t.id = w.id)),
      verdict as (
        select exists (select 1 from tasks t where t.id = ${input.taskId}) as task_known,
               exists (select 1 from reach where node = ${input.taskId}) as cyclic,
               exists (select 1 from missing) as any_missing
      ),
      ins as (
        insert into task_dependencies (task_id, depends_on_id)
        select ${input.taskId}, w.id from want w, verdict v
         where v.task_known and not v.cyclic and not v.any_missing
         order by w.ord
        on conflict do nothing
        returning depends_on_id
      ),
      ev as (
        insert into task_events (task_id, kind, payload, actor)
        select ${input.taskId}, 'dependency_added',
               jsonb_build_object('dependsOn', (select jsonb_agg(ins.depends_on_id) from ins)), ${input.actor}
         where exists (select 1 from ins)
      )
      select v.task_known, v.cyclic,
             (select coalesce(jsonb_agg(m.id order by m.ord), '[]'::jsonb) from missing m) as missing,
             (select coalesce(jsonb_agg(ins.depends_on_id), '[]'::jsonb) from ins) as added,
             case when v.cyclic then (select jsonb_agg(jsonb_build_array(r.node, r.via)) from reach r) end as reach
        from verdict v`);
    const row = rowsOf<Row>(result)[0];
    if (!row?.task_known) throw taskNotFound(input.taskId);
    const missing = fromJson(row.missing);
    if (missing.length > 0) {
      const first = input.dependsOn.indexOf(missing[0] as string);
      throw new DomainError("VALIDATION", `Unknown task(s): ${missing.join(", ")}.`, {
        field: `dependsOn.${first}`,
        details: { missing },
      });
    }
    if (row.cyclic) {
      const cycle = cycleThrough(input.taskId, fromJson(row.reach ?? []));
      const dep = cycle[1] as string;
      throw new DomainError(
        "VALIDATION",
        `Task ${input.taskId} cannot depend on ${dep}: that would close the dependency cycle ${cycle.join(" → ")} ("→" reads "depends on").`,
        {
          field: `dependsOn.${input.dependsOn.indexOf(dep)}`,
          details: { cycle },
        },
      );
    }
    return { taskId: input.taskId, added: fromJson(row.added) };
  });
}

/**
 * The cycle the refused edge would close, from the reach rows: walk back from taskId along the
 * tasks it was reached from until one of the new dependencies; read forwards, that is
 * taskId → dependency → … → taskId. The existing edges form a DAG, so the walk ends.
 */
export function cycleThrough(taskId: string, reach: [string, string | null][]): string[] {
  const from = new Map<string, string | null>();
  for (const [node, via] of reach) if (!from.has(node) || via === null) from.set(node, via);
  const back: string[] = [taskId];
  let node = taskId;
  for (let via = from.get(node); via !== null && via !== undefined; via = from.get(node)) {
    if (back.includes(via)) break; // only on a graph that already held a cycle
    back.push(via);
    node = via;
  }
  return [taskId, ...back.reverse()];
}
