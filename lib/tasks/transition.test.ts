// The transition service on a real database (PGlite, or Postgres with TEST_DATABASE_URL): every pair
// of states, the event-log and outbox rows it writes, replay by idempotency key, each guard, extra
// columns and companion rows, the errors' contents, and one round trip per call.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { agentRuns, outbox, taskDependencies, taskEvents, tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { countingDb } from "../../test/counting-db.ts";
import { useTestDb } from "../../test/db.ts";
import { freshKey, insertTask } from "../../test/fixtures.ts";
import { taskDispatched } from "../events.ts";
import { toEvent } from "../outbox/message.ts";
import { canTransition, TASK_STATES } from "../states.ts";
import { GuardFailedError, InvalidTransitionError, TransitionConflictError } from "./errors.ts";
import { EVENT_KINDS } from "./event-kinds.ts";
import { guards } from "./guards.ts";
import { addNote } from "./note.ts";
import { TRANSITION_EVENT_ID, transition } from "./transition.ts";

const t = useTestDb();

const eventsOf = (db: AppDb, taskId: string) =>
  db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId));
const outboxOf = (db: AppDb, taskId: string) =>
  db.select().from(outbox).where(sql`${outbox.data}->>'taskId' = ${taskId}`).orderBy(outbox.id);
const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;
const rowOf = async (db: AppDb, id: string) => (await db.select().from(tasks).where(eq(tasks.id, id)))[0];

describe("transition()", () => {
  it("applies every legal pair and refuses every illegal one, writing nothing for a refusal", async () => {
    const db = t.current.db;
    for (const from of TASK_STATES) {
      for (const to of TASK_STATES) {
        const task = await insertTask(db, { status: from });
        if (canTransition(from, to)) {
          const r = await transition(db, {
            taskId: task.id,
            to,
            key: freshKey(),
            reason: "test",
            actor: "test",
          });
          expect(r).toMatchObject({ from, to, version: 1, replayed: false });
        } else {
          await expect(
            transition(db, { taskId: task.id, to, key: freshKey(), actor: "test" }),
          ).rejects.toBeInstanceOf(InvalidTransitionError);
          expect(await rowOf(db, task.id)).toMatchObject({ status: from, version: 0, lastEventId: null });
          expect(await eventsOf(db, task.id)).toHaveLength(0);
          expect(await outboxOf(db, task.id)).toHaveLength(0);
        }
      }
    }
  });

  it("appends one state_changed row, points last_event_id at it and writes the fan-out to the outbox", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "blocked_external" });
    const r = await transition(db, {
      taskId: task.id,
      to: "ready",
      key: freshKey(),
      reason: "unblocked",
      actor: "ops",
    });
    const events = await eventsOf(db, task.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: r.eventId,
      kind: "state_changed",
      actor: "ops",
      payload: { from: "blocked_external", to: "ready", reason: "unblocked", version: 1 },
    });
    expect(await rowOf(db, task.id)).toMatchObject({ status: "ready", version: 1, lastEventId: r.eventId });
    const rows = await outboxOf(db, task.id);
    expect(rows.map((o) => [o.eventId, o.name, o.causeEventId, o.sentAt])).toEqual([
      [`state-changed:${task.id}:1`, "task/state.changed", r.eventId, null],
      [`task-ready:${task.id}:1`, "task/ready", r.eventId, null],
    ]);
    // What the caller is handed to send is exactly what the statement wrote.
    expect(r.outbox).toEqual(rows.map((o) => ({ eventId: o.eventId, name: o.name, data: o.data })));
    // What the outbox holds is a valid catalogue event.
    for (const m of r.outbox) await toEvent(m).validate?.();
    expect(r.outbox[0]?.data).toEqual({
      taskId: task.id,
      from: "blocked_external",
      to: "ready",
      version: 1,
      eventId: r.eventId,
      reason: "unblocked",
      actor: "ops",
    });
  });

  it("returns the first result when replayed with the same key, writing nothing more", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    const key = "run_1:lease";
    const first = await transition(db, { taskId: task.id, to: "working", key, actor: "scheduler" });
    const again = await transition(db, { taskId: task.id, to: "working", key, actor: "scheduler" });
    expect(again).toEqual({ ...first, replayed: true });
    // Even when the caller's view is now stale, the key wins over the conflict.
    const stale = await transition(db, {
      taskId: task.id,
      from: "ready",
      expectedVersion: 0,
      to: "working",
      key,
      actor: "scheduler",
    });
    expect(stale.eventId).toBe(first.eventId);
    expect(await eventsOf(db, task.id)).toHaveLength(1);
    expect(await outboxOf(db, task.id)).toHaveLength(1);
    expect(await rowOf(db, task.id)).toMatchObject({ status: "working", version: 1 });
  });

  it("refuses a key reused for a different move", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    await transition(db, { taskId: task.id, to: "working", key: "k1", actor: "a" });
    await expect(
      transition(db, { taskId: task.id, to: "cancelled", key: "k1", actor: "a" }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      field: "key",
    });
  });

  it("tells the loser of a race who won: actor, time and event id, writing nothing", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    const won = await transition(db, { taskId: task.id, to: "working", key: freshKey(), actor: "alice" });
    const err = (await transition(db, {
      taskId: task.id,
      from: "ready",
      expectedVersion: 0,
      to: "cancelled",
      key: freshKey(),
      actor: "bob",
    }).catch((e: unknown) => e)) as TransitionConflictError;
    expect(err).toBeInstanceOf(TransitionConflictError);
    expect(err).toMatchObject({
      code: "CONFLICT",
      current: "working",
      currentVersion: 1,
      winner: { actor: "alice", eventId: won.eventId, at: won.at },
    });
    expect(err.message).toContain("by alice at");
    expect(await eventsOf(db, task.id)).toHaveLength(1);
  });

  it("answers NOT_FOUND for an unknown task before anything else, even for an illegal move", async () => {
    for (const input of [
      { to: "ready" as const },
      { to: "intake" as const },
      { to: "working" as const, from: "done" as const, expectedVersion: 3 },
    ]) {
      await expect(
        transition(t.current.db, {
          taskId: "task_0000000000aaaaaaaaaaaaaaaa",
          key: freshKey(),
          actor: "x",
          ...input,
        }),
      ).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
  });

  describe("guards", () => {
    const refuses = async (db: AppDb, taskId: string, run: () => Promise<unknown>, guard: string) => {
      const before = await rowOf(db, taskId);
      const err = await run().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GuardFailedError);
      expect(err).toMatchObject({ guard, code: "CONFLICT" });
      expect((err as Error).message).toContain(`'${guard}'`);
      expect(await rowOf(db, taskId)).toEqual(before);
      expect(await eventsOf(db, taskId)).toHaveLength(0);
      expect(await outboxOf(db, taskId)).toHaveLength(0);
    };

    it("dependencies_done: refuses while a dependency is open, moves once all are done", async () => {
      const db = t.current.db;
      const done = await insertTask(db, { status: "done" });
      const open = await insertTask(db, { status: "working" });
      const task = await insertTask(db, { status: "blocked_external" });
      await db.insert(taskDependencies).values([
        { taskId: task.id, dependsOnId: done.id },
        { taskId: task.id, dependsOnId: open.id },
      ]);
      const move = () =>
        transition(db, {
          taskId: task.id,
          to: "ready",
          key: freshKey(),
          actor: "x",
          guards: [guards.dependenciesDone()],
        });
      await refuses(db, task.id, move, "dependencies_done");
      await db.update(tasks).set({ status: "done" }).where(eq(tasks.id, open.id));
      await expect(move()).resolves.toMatchObject({ to: "ready" });
    });

    it("revision_under_cap: refuses at the cap", async () => {
      const db = t.current.db;
      const task = await insertTask(db, { status: "working", revisionCount: 2 });
      await refuses(
        db,
        task.id,
        () =>
          transition(db, {
            taskId: task.id,
            to: "ready",
            key: freshKey(),
            actor: "review",
            guards: [guards.revisionUnderCap(2)],
          }),
        "revision_under_cap",
      );
      const under = await insertTask(db, { status: "working", revisionCount: 1 });
      await transition(db, {
        taskId: under.id,
        to: "ready",
        key: freshKey(),
        actor: "review",
        guards: [guards.revisionUnderCap(2)],
        set: { revisionCount: "increment" },
      });
      expect(await rowOf(db, under.id)).toMatchObject({ status: "ready", revisionCount: 2 });
    });

    it("lease_held: refuses another run and a lapsed lease", async () => {
      const db = t.current.db;
      const soon = new Date(Date.now() + 60_000);
      const task = await insertTask(db, { status: "working", currentRunId: "run_a", leaseExpiresAt: soon });
      const by = (runId: string) => () =>
        transition(db, {
          taskId: task.id,
          to: "blocked_external",
          key: freshKey(),
          actor: runId,
          guards: [guards.leaseHeld(runId)],
        });
      await refuses(db, task.id, by("run_b"), "lease_held");
      const lapsed = await insertTask(db, {
        status: "working",
        currentRunId: "run_a",
        leaseExpiresAt: new Date(Date.now() - 1000),
      });
      await refuses(
        db,
        lapsed.id,
        () =>
          transition(db, {
            taskId: lapsed.id,
            to: "blocked_external",
            key: freshKey(),
            actor: "run_a",
            guards: [guards.leaseHeld("run_a")],
          }),
        "lease_held",
      );
      await expect(by("run_a")()).resolves.toMatchObject({ to: "blocked_external" });
    });

    it("deliverable_current: refuses a stamp for a superseded deliverable", async () => {
      const db = t.current.db;
      const task = await insertTask(db, { status: "awaiting_client_review", deliverableHash: "sha-new" });
      const stamp = (hash: string) => () =>
        transition(db, {
          taskId: task.id,
          to: "done",
          key: freshKey(),
          actor: "client",
          guards: [guards.deliverableCurrent(hash)],
        });
      await refuses(db, task.id, stamp("sha-old"), "deliverable_current");
      await expect(stamp("sha-new")()).resolves.toMatchObject({ to: "done" });
    });
  });

  it("sets extra columns and writes companion rows and extra events only when it moves", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    const lease = new Date(Date.now() + 600_000);
    const lease1 = (key: string, expectedVersion: number) =>
      transition(db, {
        taskId: task.id,
        from: "ready",
        expectedVersion,
        to: "working",
        key,
        actor: "scheduler",
        set: { currentRunId: `run_${key}`, leaseExpiresAt: lease },
        companions: [
          {
            table: "agent_runs",
            values: { id: `run_${key}`, task_id: task.id, worker_id: "crm-setup", attempt: 1 },
          },
        ],
        emit: [taskDispatched.create({ taskId: task.id, runId: `run_${key}`, workerId: "crm-setup" })],
      });
    const r = await lease1("a", 0);
    expect(await rowOf(db, task.id)).toMatchObject({ currentRunId: "run_a", leaseExpiresAt: lease });
    expect(await db.select().from(agentRuns).where(eq(agentRuns.taskId, task.id))).toMatchObject([
      { id: "run_a" },
    ]);
    expect(r.outbox.map((m) => m.eventId)).toEqual([
      `state-changed:${task.id}:1`,
      `task/dispatched:${task.id}:1`,
    ]);
    expect(r.outbox[1]?.data).toEqual({ taskId: task.id, runId: "run_a", workerId: "crm-setup" });
    const written = await outboxOf(db, task.id);
    expect(written.map((o) => ({ eventId: o.eventId, name: o.name, data: o.data }))).toEqual(r.outbox);

    // A losing attempt writes no companion row and no outbox row.
    await expect(lease1("b", 0)).rejects.toBeInstanceOf(TransitionConflictError);
    expect(await db.select().from(agentRuns).where(eq(agentRuns.taskId, task.id))).toHaveLength(1);
    expect(await outboxOf(db, task.id)).toHaveLength(2);
  });

  it("lets a companion row reference the transition's own event id", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "awaiting_client_review", deliverableHash: "h1" });
    const r = await transition(db, {
      taskId: task.id,
      to: "done",
      key: "stamp:link:tok1",
      actor: "client@example.com",
      companions: [
        {
          table: "stamps",
          values: {
            id: "stamp_test_1",
            task_id: task.id,
            stage: "client",
            decision: "approve",
            channel: "link",
            actor: "client@example.com",
            deliverable_hash: "h1",
            source_ref: sql`'event:' || ${TRANSITION_EVENT_ID}`,
          },
        },
      ],
    });
    const [stamp] = rowsOf<{ source_ref: string }>(
      await db.execute(sql`select source_ref from stamps where id = 'stamp_test_1'`),
    );
    expect(stamp?.source_ref).toBe(`event:${r.eventId}`);
  });

  it("costs exactly one round trip: a move, a replay and a refused guard", async () => {
    const counter = countingDb(t.current.handle);
    const task = await insertTask(t.current.db, { status: "working", revisionCount: 2 });
    const cases = [
      () =>
        transition(counter.db, {
          taskId: task.id,
          to: "ready",
          key: "g",
          actor: "x",
          guards: [guards.revisionUnderCap(2)],
        }),
      () => transition(counter.db, { taskId: task.id, to: "awaiting_internal_review", key: "m", actor: "x" }),
      () => transition(counter.db, { taskId: task.id, to: "awaiting_internal_review", key: "m", actor: "x" }),
    ];
    for (const run of cases) {
      counter.reset();
      await run().catch(() => undefined);
      expect(counter.trips(), counter.log.join("\n")).toBe(1);
    }
  });
});

describe("transition: the time a task entered its state", () => {
  it("status_since moves with the state and only with it: a note touches updated_at, not status_since", async () => {
    const db = t.current.db;
    const long = new Date(Date.now() - 3 * 3600_000);
    const task = await insertTask(db, { status: "intake", statusSince: long, updatedAt: long });
    await addNote(db, task.id, { text: "checked with the client" }, "ops");
    const noted = await rowOf(db, task.id);
    expect(noted?.statusSince.getTime()).toBe(long.getTime());
    expect(noted?.updatedAt.getTime()).toBeGreaterThan(long.getTime());

    const before = Date.now() - 60_000; // the database clock may trail this process's a little
    await transition(db, { taskId: task.id, to: "ready", key: freshKey(), actor: "test" });
    const moved = await rowOf(db, task.id);
    expect(moved?.status).toBe("ready");
    expect(moved?.statusSince.getTime()).toBeGreaterThan(before);
    expect(moved?.statusSince.getTime()).toBe(moved?.updatedAt.getTime());
  });
});

describe("the event log", () => {
  it("is append-only: UPDATE, DELETE and TRUNCATE are refused by the database", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "intake" });
    await transition(db, { taskId: task.id, to: "ready", key: freshKey(), actor: "x" });
    await expect(
      db.update(taskEvents).set({ actor: "rewritten" }).where(eq(taskEvents.taskId, task.id)),
    ).rejects.toThrow();
    await expect(db.delete(taskEvents).where(eq(taskEvents.taskId, task.id))).rejects.toThrow();
    await expect(db.execute(sql`truncate task_events cascade`)).rejects.toThrow();
    expect((await eventsOf(db, task.id)).map((e) => e.actor)).toEqual(["x"]);
  });

  it("accepts only the closed list of kinds, and the CHECK lists exactly the declared kinds", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "intake" });
    await expect(
      db.insert(taskEvents).values({ taskId: task.id, kind: "mystery", actor: "x" }),
    ).rejects.toThrow();
    await db
      .insert(taskEvents)
      .values({ taskId: task.id, kind: "note", actor: "x", payload: { text: "hi" } });
    const [check] = rowsOf<{ def: string }>(
      await db.execute(
        sql`select pg_get_constraintdef(oid) as def from pg_constraint where conname = 'task_events_kind_known'`,
      ),
    );
    const inCheck = [...(check?.def ?? "").matchAll(/'([a-z_]+)'/g)].map((m) => m[1]);
    expect(inCheck.sort()).toEqual([...EVENT_KINDS].sort());
  });
});

describe("transition: failures carry their class", () => {
  it("stores the class the reason names on every move to failed_needs_triage, in the same statement", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "working" });
    const counted = countingDb(t.current.handle);
    await transition(counted.db, {
      taskId: task.id,
      to: "failed_needs_triage",
      key: freshKey(),
      reason: "auth: the HubSpot token was revoked",
      actor: "test",
    });
    expect(counted.trips()).toBe(1);
    const [row] = await db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.failureClass).toBe("auth");
    // Unprefixed reasons are classified by the same classifier.
    const other = await insertTask(db, { status: "working" });
    await transition(db, {
      taskId: other.id,
      to: "failed_needs_triage",
      key: freshKey(),
      reason: "the model timed out three times",
      actor: "test",
    });
    expect((await db.select().from(tasks).where(eq(tasks.id, other.id)))[0]?.failureClass).toBe("timeout");
  });
});
