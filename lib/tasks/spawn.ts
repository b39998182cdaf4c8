// task.spawn_subtask, for the workers of the dispatch issue: a worker splits its task. The subtask is
// created in the parent's project and plan (source "agent", source_ref = the step's idempotency key,
// so a retried step gets the same subtask back) and the parent is made to depend on it through
// addDependencies — the same in-database cycle check, under the same DAG lock, as every edge between
// existing tasks. Both in one transaction: a subtask never exists without its parent's edge.
//
// "A parent whose subtasks are open waits for them": a worker that calls `submit` while a task it
// depends on is open does not hand in — the parent moves working → blocked_external with a
// `subtasks:` reason (guarded by guards.dependenciesOpen() in the same statement) and frees its slot;
// when the last subtask is done, promote moves it back to ready and a new run continues with the
// subtasks' results in its dossier (lib/work/subtasks.ts). functions/work-subtasks.test.ts shows it.
//
// The subtask enters `intake` like any task (its `task/submitted` row is in the outbox) and is triaged
// there — worker and priority are the triage's to set, so they are not copied from the parent, which
// also keeps a retried step's body identical (a replay with another body would be a conflict).
import { eq } from "drizzle-orm";
import { z } from "zod";
import { tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { ID_PATTERN } from "../ids.ts";
import { isTerminal } from "../states.ts";
import { text } from "../text.ts";
import { addDependencies, lockDag } from "./dependencies.ts";
import { taskNotFound } from "./errors.ts";
import { type Submitted, submitTask } from "./submit.ts";

export const spawnSubtaskInput = z.strictObject({
  parentId: z.string().regex(ID_PATTERN, "must be a task id"),
  title: z.string(),
  description: z.string().optional(),
  rubric: z.array(z.string()).optional(),
  worker: z.string().optional(),
  actor: text({ min: 1, max: 200 }),
  /** The calling step's idempotency key (run id + step id). */
  key: text({ min: 1, max: 200 }),
});
export type SpawnSubtaskInput = z.input<typeof spawnSubtaskInput>;

export interface SpawnedSubtask extends Submitted {
  parentId: string;
}

export async function spawnSubtask(db: AppDb, raw: SpawnSubtaskInput): Promise<SpawnedSubtask> {
  // title, description, rubric and worker are checked by the submit schema (text rules, limits).
  const { parentId, actor, key, ...fields } = spawnSubtaskInput.parse(raw);
  return db.transaction(async (tx) => {
    // The DAG lock first, before the submit statement can wait on a concurrent retry's row: taking
    // it after would let two retries of one step deadlock (each holding what the other waits for).
    await lockDag(tx);
    const [parent] = await tx
      .select({
        id: tasks.id,
        status: tasks.status,
        projectId: tasks.projectId,
        planId: tasks.planId,
        dryRun: tasks.dryRun,
      })
      .from(tasks)
      .where(eq(tasks.id, parentId));
    if (!parent) throw taskNotFound(parentId);
    if (isTerminal(parent.status)) {
      throw new DomainError(
        "INVALID_TRANSITION",
        `Task ${parentId} is ${parent.status}: a finished task cannot wait for a subtask.`,
        { field: "parentId", details: { taskId: parentId, state: parent.status } },
      );
    }
    const submitted = await submitTask(
      tx,
      {
        ...fields,
        project: parent.projectId,
        ...(parent.planId ? { plan: parent.planId } : {}),
        // A rehearsal stays a rehearsal all the way down.
        ...(parent.dryRun ? { dry_run: true } : {}),
      },
      { source: "agent", sourceRef: key, actor },
    );
    await addDependencies(tx, { taskId: parentId, dependsOn: [submitted.task.id], actor });
    return { ...submitted, parentId };
  });
}
