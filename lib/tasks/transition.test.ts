// The transition service on a real database (PGlite, or Postgres with TEST_DATABASE_URL): every pair
// of states through the database, the event log row, and refusal without writes.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { taskEvents, tasks } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { canTransition, TASK_STATES } from "../states.ts";
import { InvalidTransitionError, TransitionConflictError } from "./errors.ts";
import { stateChangedEvent, transition } from "./transition.ts";

const t = useTestDb();

describe("transition()", () => {
  it("applies every legal pair and refuses every illegal one, through the database", async () => {
    const db = t.current.db;
    for (const from of TASK_STATES) {
      for (const to of TASK_STATES) {
        const task = await insertTask(db, { status: from });
        if (canTransition(from, to)) {
          const r = await transition(db, { taskId: task.id, to, reason: "test", actor: "test" });
          expect(r).toMatchObject({ from, to, version: 1 });
        } else {
          await expect(transition(db, { taskId: task.id, to, actor: "test" })).rejects.toBeInstanceOf(
            InvalidTransitionError,
          );
          const [after] = await db.select().from(tasks).where(eq(tasks.id, task.id));
          expect(after).toMatchObject({ status: from, version: 0, lastEventId: null });
          expect(await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).toHaveLength(0);
        }
      }
    }
  });

  it("appends one state_changed row and points last_event_id at it", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    const r = await transition(db, { taskId: task.id, to: "working", reason: "leased", actor: "scheduler" });
    const [after] = await db.select().from(tasks).where(eq(tasks.id, task.id));
    const events = await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: r.eventId,
      kind: "state_changed",
      actor: "scheduler",
      payload: { from: "ready", to: "working", reason: "leased", version: 1 },
    });
    expect(after).toMatchObject({
      status: "working",
      version: 1,
      lastEventId: r.eventId,
      statusReason: "leased",
    });
  });

  it("refuses a stale version with a conflict naming the current state, writing nothing", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    await transition(db, { taskId: task.id, to: "working", actor: "a" });
    const err = await transition(db, {
      taskId: task.id,
      from: "ready",
      expectedVersion: 0,
      to: "cancelled",
      actor: "b",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransitionConflictError);
    expect(err).toMatchObject({ code: "CONFLICT", current: "working", currentVersion: 1 });
    expect((err as Error).message).toContain("'working'");
    expect(await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).toHaveLength(1);
  });

  it("refuses an unknown task with NOT_FOUND", async () => {
    await expect(
      transition(t.current.db, { taskId: "task_0000000000aaaaaaaaaaaaaaaa", to: "ready", actor: "x" }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("builds an idempotent, schema-valid task/state.changed event", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "intake" });
    const r = await transition(db, { taskId: task.id, to: "cancelled", actor: "ops" });
    const ev = stateChangedEvent(r);
    await ev.validate();
    expect(ev).toMatchObject({
      name: "task/state.changed",
      id: `state-changed:${task.id}:1`,
      data: { taskId: task.id, from: "intake", to: "cancelled", version: 1, eventId: r.eventId },
    });
  });

  it("keeps the event log append-only: UPDATE and DELETE are refused by the database", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "intake" });
    await transition(db, { taskId: task.id, to: "ready", actor: "x" });
    await expect(
      db.update(taskEvents).set({ actor: "rewritten" }).where(eq(taskEvents.taskId, task.id)),
    ).rejects.toThrow();
    await expect(db.delete(taskEvents).where(eq(taskEvents.taskId, task.id))).rejects.toThrow();
    const events = await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(events.map((e) => e.actor)).toEqual(["x"]);
  });
});
