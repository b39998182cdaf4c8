// Reading tasks: a filtered, cursor-paginated list (newest first; ids are time-sortable) and one task
// with its dependencies, event timeline, token usage and review history (AI verdicts and human
// stamps: who, what, when, why).
import { and, asc, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import { reviews, stamps, taskDependencies, taskEvents, tasks, tokenUsage } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { FAILURE_CLASSES } from "../failures.ts";
import { ID_PATTERN } from "../ids.ts";
import { TASK_STATES } from "../states.ts";
import { text } from "../text.ts";
import { taskNotFound } from "./errors.ts";
import type { TaskRow } from "./submit.ts";

export const listTasksInput = z.strictObject({
  state: z.enum(TASK_STATES).optional(),
  project: text({ min: 1, max: 64 }).optional(),
  /** The class recorded by the task's last move to failed_needs_triage (lib/failures.ts). */
  failure_class: z.enum(FAILURE_CLASSES).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().regex(ID_PATTERN, "must be a cursor returned by this endpoint").optional(),
});
export type ListTasksInput = z.input<typeof listTasksInput>;

export async function listTasks(
  db: AppDb,
  raw: ListTasksInput,
): Promise<{ tasks: TaskRow[]; nextCursor: string | null }> {
  const input = listTasksInput.parse(raw);
  const where: SQL[] = [];
  if (input.state) where.push(eq(tasks.status, input.state));
  if (input.project) where.push(eq(tasks.projectId, input.project));
  if (input.failure_class) where.push(eq(tasks.failureClass, input.failure_class));
  if (input.cursor) where.push(lt(tasks.id, input.cursor));
  const rows = await db
    .select()
    .from(tasks)
    .where(and(...where))
    .orderBy(desc(tasks.id))
    .limit(input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return { tasks: page, nextCursor: rows.length > input.limit && last ? last.id : null };
}

export type TaskEventRow = typeof taskEvents.$inferSelect;

export const timelineInput = z.strictObject({
  events_limit: z.coerce.number().int().min(1).max(500).default(100),
  events_before: z.coerce.number().int().min(1).optional(),
});
export type TimelineInput = z.input<typeof timelineInput>;

/** One task, its dependencies and a page of its timeline, newest first (`events_before` pages back). */
export async function getTask(db: AppDb, id: string, raw: TimelineInput = {}) {
  const page = timelineInput.parse(raw);
  const [task] = await db.select().from(tasks).where(eq(tasks.id, id));
  if (!task) throw taskNotFound(id);
  const where = [eq(taskEvents.taskId, id)];
  if (page.events_before !== undefined) where.push(lt(taskEvents.id, page.events_before));
  const [deps, events, usage, verdicts, decisions] = await Promise.all([
    db
      .select({ id: taskDependencies.dependsOnId, state: tasks.status })
      .from(taskDependencies)
      .innerJoin(tasks, eq(tasks.id, taskDependencies.dependsOnId))
      .where(eq(taskDependencies.taskId, id))
      .orderBy(asc(taskDependencies.dependsOnId)),
    db
      .select()
      .from(taskEvents)
      .where(and(...where))
      .orderBy(desc(taskEvents.id))
      .limit(page.events_limit + 1),
    db
      .select({
        calls: sql<number>`count(*)::int`,
        tokensIn: sql<number>`coalesce(sum(${tokenUsage.tokensIn}), 0)::int`,
        tokensOut: sql<number>`coalesce(sum(${tokenUsage.tokensOut}), 0)::int`,
        cacheReadTokens: sql<number>`coalesce(sum(${tokenUsage.cacheReadTokens}), 0)::int`,
        cacheWriteTokens: sql<number>`coalesce(sum(${tokenUsage.cacheWriteTokens}), 0)::int`,
        costUsd: sql<string>`coalesce(sum(${tokenUsage.costUsd}), 0)::text`,
      })
      .from(tokenUsage)
      .where(eq(tokenUsage.taskId, id)),
    db
      .select({
        revision: reviews.revision,
        verdict: reviews.verdict,
        score: reviews.score,
        feedback: reviews.feedback,
        criteria: reviews.criteria,
        model: reviews.model,
        deliverableHash: reviews.deliverableHash,
        at: reviews.createdAt,
      })
      .from(reviews)
      .where(eq(reviews.taskId, id))
      .orderBy(asc(reviews.revision)),
    db
      .select({
        stage: stamps.stage,
        decision: stamps.decision,
        actor: stamps.actor,
        channel: stamps.channel,
        note: stamps.note,
        deliverableHash: stamps.deliverableHash,
        at: stamps.createdAt,
      })
      .from(stamps)
      .where(eq(stamps.taskId, id))
      .orderBy(asc(stamps.createdAt)),
  ]);
  const timeline = events.slice(0, page.events_limit);
  const last = timeline.at(-1);
  return {
    task,
    dependsOn: deps,
    timeline,
    timelineNextCursor: events.length > page.events_limit && last ? last.id : null,
    /** The AI reviewer's verdicts per revision, then the human decisions, oldest first. */
    reviewHistory: {
      reviews: verdicts,
      stamps: decisions,
      /** Revisions people asked for (counted and shown, never capped; the AI's are capped at 2). */
      humanRevisions: decisions.filter((d) => d.decision === "request_changes").length,
    },
    /** What the task's model calls cost so far (every tier, from the token ledger). */
    usage: {
      calls: Number(usage[0]?.calls ?? 0),
      tokensIn: Number(usage[0]?.tokensIn ?? 0),
      tokensOut: Number(usage[0]?.tokensOut ?? 0),
      cacheReadTokens: Number(usage[0]?.cacheReadTokens ?? 0),
      cacheWriteTokens: Number(usage[0]?.cacheWriteTokens ?? 0),
      costUsd: Number(usage[0]?.costUsd ?? 0),
    },
  };
}

/** Where a task came from (source and its reference), or undefined for an unknown task. */
export async function readTaskSource(db: AppDb, id: string) {
  const [row] = await db
    .select({ source: tasks.source, sourceRef: tasks.sourceRef })
    .from(tasks)
    .where(eq(tasks.id, id));
  return row;
}
