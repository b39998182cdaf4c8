// Watchdog test helpers: a worker with spare slots, a leased task (the real lease transition), the
// outbox drained as a working drain would have, the pass's clock set forward from the real one (the
// log is append-only, so time moves forward instead of rows being backdated), and one pass of the
// real function through the Inngest test engine.
import { eq, sql } from "drizzle-orm";
import { expect } from "vitest";
import { taskEvents, tasks, workers } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { watchdog } from "../functions/watchdog.ts";
import type { Deps } from "../lib/deps.ts";
import { newId } from "../lib/ids.ts";
import { publishSettled } from "../lib/outbox/publish.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { insertTask } from "./fixtures.ts";
import { runFunction } from "./inngest.ts";

/** The real time the file started: every pass's clock is this plus some minutes. */
export const T0 = Date.now();

/** Sets the clock the watchdog (and everything else using deps.now) reads. */
export function clockAt(deps: Deps, minutes: number): Date {
  const at = new Date(T0 + minutes * 60_000);
  deps.now = () => at;
  return at;
}

export async function addWorker(db: AppDb, slots = 5): Promise<string> {
  const id = newId("wkr");
  await db.insert(workers).values({ id, name: id, agentType: "crm", slots });
  return id;
}

/** A task leased to `worker` by the real lease transition: working, a running run, a held slot. */
export async function leased(db: AppDb, worker: string, overrides: Parameters<typeof insertTask>[1] = {}) {
  const task = await insertTask(db, { status: "ready", workerId: worker, ...overrides });
  const runId = newId("run");
  await leaseTask(db, { taskId: task.id, workerId: worker, runId, key: `lease:${runId}`, now: new Date() });
  return { taskId: task.id, runId };
}

/** Every pending outbox row marked sent, as a drain that works would have left them. */
export async function drained(db: AppDb): Promise<void> {
  await db.execute(sql`update outbox set sent_at = now() where sent_at is null`);
}

/** One watchdog pass; its "sent" marks are written before it returns (they go in the background). */
export async function pass(deps: Deps) {
  const res = await runFunction(watchdog, { deps, event: { name: "inngest/scheduled.timer", data: {} } });
  expect(res.error, String((res.error as Error | undefined)?.stack)).toBeUndefined();
  await publishSettled(deps);
  return res.result as Record<string, unknown>;
}

export async function logOf(db: AppDb, taskId: string) {
  return db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id);
}

export async function taskRow(db: AppDb, taskId: string) {
  const [row] = await db.select().from(tasks).where(eq(tasks.id, taskId));
  if (!row) throw new Error(`no task ${taskId}`);
  return row;
}

/** The watchdog's own entries in a task's log: its events and its transitions. */
export async function watchdogEntries(db: AppDb, taskId: string) {
  return (await logOf(db, taskId)).filter((e) => e.actor === "watchdog");
}
