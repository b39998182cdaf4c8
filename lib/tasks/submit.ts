// Submitting a task: validated input → one transaction that inserts the task in `intake`, its
// dependency edges and a `submitted` row in the event log. The database is the source of truth; the
// caller sends `task/submitted` after commit. A repeated idempotency key returns the same task.
import { and, eq, inArray } from "drizzle-orm";
import { plans, projects, taskDependencies, taskEvents, tasks, workers } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { taskSubmitted } from "../events.ts";
import { newId } from "../ids.ts";
import {
  DEFAULT_PROJECT_ID,
  DEFAULT_WORKER_ID,
  PRIORITIES,
  type SubmitTaskInput,
  submitTaskInput,
} from "./input.ts";

export type TaskRow = typeof tasks.$inferSelect;
type Source = TaskRow["source"];

export interface SubmitOptions {
  source: Source;
  /** The source's idempotency reference (client key, HubSpot ticket id, …). */
  sourceRef?: string | undefined;
  actor: string;
}

async function hashOf(input: SubmitTaskInput): Promise<string> {
  const canonical = JSON.stringify(input, Object.keys(input).sort());
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const invalid = (field: string, message: string) => new DomainError("VALIDATION", message, { field });

async function replay(
  db: AppDb,
  source: Source,
  sourceRef: string,
  hash: string,
): Promise<TaskRow | undefined> {
  const [existing] = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.source, source), eq(tasks.sourceRef, sourceRef)));
  if (existing && existing.submissionHash !== hash) {
    throw new DomainError(
      "CONFLICT",
      `The idempotency key '${sourceRef}' was already used for a different task (${existing.id}).`,
      { field: "Idempotency-Key", details: { taskId: existing.id } },
    );
  }
  return existing;
}

export async function submitTask(
  db: AppDb,
  raw: unknown,
  opts: SubmitOptions,
): Promise<{ task: TaskRow; created: boolean }> {
  const input = submitTaskInput.parse(raw);
  const hash = await hashOf(input);
  if (opts.sourceRef) {
    const existing = await replay(db, opts.source, opts.sourceRef, hash);
    if (existing) return { task: existing, created: false };
  }
  const projectId = input.project ?? DEFAULT_PROJECT_ID;
  const workerId = input.worker ?? DEFAULT_WORKER_ID;
  const dependsOn = input.depends_on ?? [];

  return db.transaction(async (tx) => {
    const [project] = await tx.select({ id: projects.id }).from(projects).where(eq(projects.id, projectId));
    if (!project) throw invalid("project", `Project '${projectId}' does not exist.`);
    const [worker] = await tx
      .select({ id: workers.id, active: workers.active })
      .from(workers)
      .where(eq(workers.id, workerId));
    if (!worker?.active) throw invalid("worker", `Worker '${workerId}' does not exist or is inactive.`);
    if (input.plan) {
      const [plan] = await tx
        .select({ projectId: plans.projectId })
        .from(plans)
        .where(eq(plans.id, input.plan));
      if (plan?.projectId !== projectId) {
        throw invalid("plan", `Plan '${input.plan}' does not exist in project '${projectId}'.`);
      }
    }
    if (dependsOn.length > 0) {
      const found = await tx.select({ id: tasks.id }).from(tasks).where(inArray(tasks.id, dependsOn));
      const missing = dependsOn.filter((id) => !found.some((f) => f.id === id));
      if (missing.length > 0) throw invalid("depends_on", `Unknown task(s): ${missing.join(", ")}.`);
    }

    const id = newId("task");
    const [task] = await tx
      .insert(tasks)
      .values({
        id,
        projectId,
        planId: input.plan ?? null,
        title: input.title,
        description: input.description ?? "",
        priority: PRIORITIES.indexOf(input.priority ?? "normal"),
        workerId,
        rubric: input.rubric ?? [],
        dryRun: input.dry_run ?? false,
        source: opts.source,
        sourceRef: opts.sourceRef ?? null,
        submissionHash: hash,
      })
      .onConflictDoNothing({ target: [tasks.source, tasks.sourceRef] })
      .returning();
    if (!task) {
      // A concurrent request with the same key committed first: answer with its task.
      const existing = await replay(tx, opts.source, opts.sourceRef as string, hash);
      if (!existing) throw new DomainError("CONFLICT", "Concurrent submission with the same key; retry.");
      return { task: existing, created: false };
    }
    if (dependsOn.length > 0) {
      await tx.insert(taskDependencies).values(dependsOn.map((d) => ({ taskId: id, dependsOnId: d })));
    }
    const [event] = await tx
      .insert(taskEvents)
      .values({
        taskId: id,
        kind: "submitted",
        actor: opts.actor,
        payload: { source: opts.source, sourceRef: opts.sourceRef ?? null, dependsOn },
      })
      .returning({ id: taskEvents.id });
    const [withEvent] = await tx
      .update(tasks)
      .set({ lastEventId: event?.id ?? null })
      .where(eq(tasks.id, id))
      .returning();
    return { task: withEvent ?? task, created: true };
  });
}

export const submittedEvent = (task: TaskRow) =>
  taskSubmitted.create({ taskId: task.id, source: task.source }, { id: `task-submitted:${task.id}` });
