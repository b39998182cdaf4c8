// Reading a plan: the plan row, its tasks in creation order (ids sort by time; create.ts gives a
// plan's tasks consecutive ones) and every dependency edge of those tasks with the state of the task
// depended on — which may lie outside the plan.
import { asc, eq, inArray } from "drizzle-orm";
import { plans, taskDependencies, tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import type { TaskState } from "../states.ts";
import type { TaskRow } from "../tasks/submit.ts";
import type { PlanRow } from "./create.ts";

export interface PlanEdge {
  taskId: string;
  dependsOnId: string;
  dependsOnState: TaskState;
}

export async function getPlan(
  db: AppDb,
  id: string,
): Promise<{ plan: PlanRow; tasks: TaskRow[]; edges: PlanEdge[] }> {
  const [[plan], rows, edges] = await Promise.all([
    db.select().from(plans).where(eq(plans.id, id)),
    db.select().from(tasks).where(eq(tasks.planId, id)).orderBy(asc(tasks.id)),
    db
      .select({
        taskId: taskDependencies.taskId,
        dependsOnId: taskDependencies.dependsOnId,
        dependsOnState: tasks.status,
      })
      .from(taskDependencies)
      .innerJoin(tasks, eq(tasks.id, taskDependencies.dependsOnId))
      .where(
        inArray(taskDependencies.taskId, db.select({ id: tasks.id }).from(tasks).where(eq(tasks.planId, id))),
      )
      .orderBy(asc(taskDependencies.taskId), asc(taskDependencies.dependsOnId)),
  ]);
  if (!plan) throw new DomainError("NOT_FOUND", `Plan ${id} does not exist.`, { field: "id" });
  return { plan, tasks: rows, edges };
}
