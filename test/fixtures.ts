// Row fixtures: each test makes its own rows with fresh ids.
import { eq } from "drizzle-orm";
import { taskDependencies, tasks, workerLeases } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { taskStateChanged } from "../lib/events.ts";
import { newId } from "../lib/ids.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { applyStamp, type StampDecision } from "../lib/stamps/apply.ts";
import { mintClientLink } from "../lib/stamps/links.ts";
import type { StampStage, TaskState } from "../lib/states.ts";
import { submitMany } from "../lib/tasks/submit.ts";
import { transition } from "../lib/tasks/transition.ts";
import { storeDeliverable } from "../lib/work/deliverable.ts";
import { releaseRun } from "../lib/work/release.ts";

export async function insertTask(
  db: AppDb,
  overrides: Partial<typeof tasks.$inferInsert> & { status?: TaskState } = {},
) {
  const [row] = await db
    .insert(tasks)
    .values({
      id: newId("task"),
      projectId: "proj_default",
      workerId: "crm-setup",
      title: "fixture task",
      // A task past intake got there through triage (a retry of an untriaged one is a retriage).
      ...(overrides.status !== undefined && overrides.status !== "intake" ? { triagedAt: new Date() } : {}),
      ...overrides,
    })
    .returning();
  if (!row) throw new Error("insertTask: no row returned");
  return row;
}

/** A task as the webhook records a ticket creation: `hubspot`, in intake, the placeholder title. */
export async function hubspotTask(db: AppDb, ticketId: string) {
  const [o] = await submitMany(db, [
    {
      input: { title: `HubSpot ticket ${ticketId}` },
      source: "hubspot",
      sourceRef: ticketId,
      actor: "webhook",
      clean: true,
    },
  ]);
  if (!o || !("task" in o)) throw new Error("hubspotTask: no task");
  return o.task;
}

/** A transition idempotency key no other call uses. */
export const freshKey = (): string => `test:${crypto.randomUUID()}`;

/**
 * A `ready` task leased to the crm-setup worker, as the scheduler leaves it (`working`, an open run,
 * the slot held), and the `task/dispatched` event that starts its work run.
 */
export async function leasedTask(db: AppDb, overrides: Partial<typeof tasks.$inferInsert> = {}) {
  const task = await insertTask(db, { ...overrides, status: "ready" });
  const runId = `run_${task.id.slice(5)}`;
  await leaseTask(db, {
    taskId: task.id,
    workerId: "crm-setup",
    runId,
    key: `lease:${task.id}`,
    now: new Date(),
  });
  const event = { name: "task/dispatched", data: { taskId: task.id, runId, workerId: "crm-setup" } };
  return { task, runId, event };
}

/**
 * A task already `done` with one triaged dependent waiting only on it, and the `task/state.changed`
 * event that announced the finish (what `promote` reacts to). Rows are written directly, not through
 * the transition service, so the fixture does not depend on how a task gets to `done`.
 */
export async function doneTaskWithDependent(db: AppDb) {
  const done = await insertTask(db, { status: "done", version: 3 });
  const dependent = await insertTask(db, { status: "intake", triagedAt: new Date() });
  await db.insert(taskDependencies).values({ taskId: dependent.id, dependsOnId: done.id });
  const event = taskStateChanged.create(
    {
      taskId: done.id,
      from: "awaiting_client_review",
      to: "done",
      version: done.version,
      eventId: 1,
      reason: null,
      actor: "client",
    },
    { id: `state-changed:${done.id}:${done.version}` },
  );
  return { done, dependent, event };
}

/**
 * A task worked once more, as the work function leaves it: leased, a deliverable stored, the slot
 * released, the task still `working` — and the `task/work.submitted` event the review reacts to.
 * Pass `taskId` to submit the next version of an existing task (`n` names the run).
 */
export async function submittedDeliverable(
  db: AppDb,
  opts: {
    taskId?: string;
    n?: number;
    markdown?: string;
    task?: Partial<typeof tasks.$inferInsert>;
  } = {},
) {
  const task =
    opts.taskId !== undefined
      ? (await db.select().from(tasks).where(eq(tasks.id, opts.taskId)))[0]
      : await insertTask(db, { status: "ready", ...opts.task });
  if (!task) throw new Error(`submittedDeliverable: no task ${opts.taskId}`);
  const runId = `run_${task.id.slice(-10)}_${opts.n ?? 1}`;
  await leaseTask(db, {
    taskId: task.id,
    workerId: task.workerId ?? "crm-setup",
    runId,
    key: `lease:${runId}`,
    now: new Date(),
  });
  const d = await storeDeliverable(db, {
    taskId: task.id,
    runId,
    markdown: opts.markdown ?? `# v${opts.n ?? 1}`,
    result: {},
    key: `${runId}:submit`,
  });
  await releaseRun(db, { runId, status: "succeeded" });
  return {
    taskId: task.id,
    runId,
    hash: d.hash,
    deliverableId: d.id,
    event: {
      name: "task/work.submitted",
      data: { taskId: task.id, runId, deliverableId: d.id, deliverableHash: d.hash },
    },
  };
}

/**
 * A task whose deliverable passed review and waits in `awaiting_client_review`, and a client link
 * minted for it with `key` (as the review's client stage leaves it).
 */
export async function awaitingClientWithLink(
  db: AppDb,
  opts: { key: string; title?: string; markdown?: string },
) {
  await db.delete(workerLeases);
  const s = await submittedDeliverable(db, {
    task: { title: opts.title ?? "fixture task" },
    ...(opts.markdown === undefined ? {} : { markdown: opts.markdown }),
  });
  await transition(db, {
    taskId: s.taskId,
    to: "awaiting_client_review",
    key: freshKey(),
    actor: "reviewer:local",
  });
  const link = await mintClientLink(
    db,
    { STAMP_LINK_KEY: opts.key, STAMP_LINK_KEY_PREVIOUS: undefined, STAMP_LINK_TTL_DAYS: 14 },
    { taskId: s.taskId, deliverableHash: s.hash, now: new Date() },
  );
  return { task: { id: s.taskId }, link, hash: s.hash };
}

/**
 * A wait handler: a person decides while the review run waits — the stamp is written (through the
 * API channel, on the task's current deliverable) and the wait gets its `task/stamped` event.
 */
export const stampWhileWaiting =
  (db: AppDb, taskId: string, stage: StampStage, decision: StampDecision) => async () => {
    const [task] = await db.select().from(tasks).where(eq(tasks.id, taskId));
    const s = await applyStamp(db, {
      taskId,
      stage,
      decision,
      deliverableHash: task?.deliverableHash as string,
      channel: "api",
      actor: "ops@example.com",
      sourceRef: `${stage}-${decision}`,
      ...(decision === "approve" ? {} : { note: "not like this" }),
    });
    return { name: "task/stamped", data: { taskId, stampId: s.stampId, stage, decision } };
  };
