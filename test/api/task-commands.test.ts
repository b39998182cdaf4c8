// The operator's task commands over the in-process app: retry, skip, unblock, cancel, reassign and
// notes — each one audited move (the caller and the reason in its event), refused with a 409 naming
// the state and the allowed commands in the wrong state, 404 for unknown tasks, 400 naming the field
// for bad bodies; a skip's task/state.changed drives promote, which readies the dependents it
// unblocked; a cancel's task/cancel.requested frees the slot of the run it stops.
import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import {
  projects,
  taskDependencies,
  taskEvents,
  tasks,
  workerLeases,
  workers,
} from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { promote } from "../../functions/promote.ts";
import { releaseOnCancel } from "../../functions/release-on-cancel.ts";
import { newId } from "../../lib/ids.ts";
import { leaseTask } from "../../lib/scheduler/lease.ts";
import type { TaskState } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import { testApp, testDeps } from "../deps.ts";
import { freshKey, insertTask } from "../fixtures.ts";
import { runFunction } from "../inngest.ts";

const t = useTestDb();
let api: ReturnType<typeof testApp>;
beforeEach(() => {
  api = testApp(t.current.db);
});
type Json = Record<string, any>;

const failed = (db: AppDb, extra: Partial<typeof tasks.$inferInsert> = {}) =>
  insertTask(db, {
    status: "failed_needs_triage",
    statusReason: "auth: the key was revoked",
    failureClass: "auth",
    version: 4,
    ...extra,
  });
const row = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const eventsOf = (id: string) =>
  t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);
const post = (path: string, json?: unknown, headers: Record<string, string> = {}) =>
  api.request(path, { method: "POST", headers, ...(json === undefined ? {} : { json }) });
const as = (name: string) => ({ "foreman-actor": name });

async function addWorker(db: AppDb, active = true) {
  const id = `w-${newId("wkr").slice(-8)}`;
  await db.insert(workers).values({ id, name: `worker ${id}`, agentType: "crm", slots: 1, active });
  return id;
}

describe("POST /api/tasks/:id/retry", () => {
  it("moves a failed task to ready, audited with the caller and the reason, and sends its events", async () => {
    const task = await failed(t.current.db);
    const res = await post(`/api/tasks/${task.id}/retry`, { reason: "key rotated" }, as("alice"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      task: { id: task.id, state: "ready", version: 5, reason: "retried: key rotated" },
      transition: { from: "failed_needs_triage", to: "ready", actor: "api:alice", replayed: false },
      allowed_actions: ["cancel", "reassign", "note"],
    });
    expect((await row(task.id))?.status).toBe("ready");
    const [ev] = (await eventsOf(task.id)).filter((e) => e.kind === "state_changed");
    expect(ev).toMatchObject({
      id: body.transition.event_id,
      actor: "api:alice",
      payload: { from: "failed_needs_triage", to: "ready", reason: "retried: key rotated", version: 5 },
    });
    expect(api.events.sent.map((e) => [e.name, e.id])).toEqual([
      ["task/state.changed", `state-changed:${task.id}:5`],
      ["task/ready", `task-ready:${task.id}:5`],
    ]);
  });

  it("works without a body and records the default reason and actor", async () => {
    const task = await failed(t.current.db);
    const res = await api.request(`/api/tasks/${task.id}/retry`, { method: "POST" });
    expect(res.status).toBe(200);
    expect((await res.json()) as Json).toMatchObject({
      transition: { actor: "api", reason: "retried: through the admin API" },
    });
  });

  it("refuses a task that is not in triage with 409, its state and the allowed actions, writing nothing", async () => {
    const task = await insertTask(t.current.db, { status: "working", version: 2 });
    const res = await post(`/api/tasks/${task.id}/retry`, {});
    expect(res.status).toBe(409);
    expect(((await res.json()) as Json).error).toMatchObject({
      code: "INVALID_TRANSITION",
      field: "state",
      message: `Task ${task.id} is working: retry does not apply there (allowed: cancel, note).`,
      details: { state: "working", action: "retry", allowed_actions: ["cancel", "note"] },
    });
    expect(await row(task.id)).toMatchObject({ status: "working", version: 2 });
    expect(await eventsOf(task.id)).toEqual([]);
    expect(api.events.sent).toEqual([]);
  });

  it("returns the first result for a repeated Idempotency-Key, moving once", async () => {
    const task = await failed(t.current.db);
    const headers = { "idempotency-key": "retry-once-123" };
    const first = (await (await post(`/api/tasks/${task.id}/retry`, {}, headers)).json()) as Json;
    const again = await post(`/api/tasks/${task.id}/retry`, {}, headers);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Json).transition).toMatchObject({
      event_id: first.transition.event_id,
      replayed: true,
    });
    expect((await eventsOf(task.id)).filter((e) => e.kind === "state_changed")).toHaveLength(1);
    // The same key on another command of the same task is that command's own key, not a replay.
    const cancel = await post(`/api/tasks/${task.id}/cancel`, {}, headers);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as Json).transition).toMatchObject({ from: "ready", to: "cancelled" });
  });

  it("takes a command with no body even when the client says the body is JSON (curl -H 'Content-Type: application/json')", async () => {
    const task = await failed(t.current.db);
    const res = await api.request(`/api/tasks/${task.id}/retry`, {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    expect((await row(task.id))?.status).toBe("ready");
    const blank = await api.request("/api/admin/pause", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: " \n",
    });
    expect(blank.status).toBe(200);
    expect(((await blank.json()) as Json).paused).toBe(true);
    await api.request("/api/admin/resume", { method: "POST" });
  });

  it("is 404 for an unknown or malformed task id, and 400 naming the field for a bad body", async () => {
    const unknown = await post(`/api/tasks/${newId("task")}/retry`, {});
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Json).error.code).toBe("NOT_FOUND");
    expect((await post("/api/tasks/not-a-task/retry", {})).status).toBe(404);

    const task = await failed(t.current.db);
    const bad = await post(`/api/tasks/${task.id}/retry`, { reason: 42 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({ code: "VALIDATION", field: "reason" });
    const extra = await post(`/api/tasks/${task.id}/retry`, { reason: "x", force: true });
    expect(((await extra.json()) as Json).error).toMatchObject({ field: "force" });
    const text = await api.request(`/api/tasks/${task.id}/retry`, { method: "POST", body: "reason=x" });
    expect(text.status).toBe(400);
    expect(((await text.json()) as Json).error.field).toBe("Content-Type");
    const badKey = await post(`/api/tasks/${task.id}/retry`, {}, { "idempotency-key": "has space" });
    expect(((await badKey.json()) as Json).error.field).toBe("Idempotency-Key");
    const badActor = await post(`/api/tasks/${task.id}/retry`, {}, as("no spaces allowed"));
    expect(((await badActor.json()) as Json).error.field).toBe("Foreman-Actor");
    expect((await row(task.id))?.status).toBe("failed_needs_triage");
  });
});

describe("POST /api/tasks/:id/skip", () => {
  it("finishes the task as skipped, reports what it unblocks, and promote readies those dependents", async () => {
    const db = t.current.db;
    const skipped = await failed(db);
    const other = await insertTask(db, { status: "working" });
    const free = await insertTask(db, { status: "intake", triagedAt: new Date(), title: "free now" });
    const untriaged = await insertTask(db, { status: "intake", title: "not triaged" });
    const waiting = await insertTask(db, { status: "intake", triagedAt: new Date(), title: "still waits" });
    for (const d of [free, untriaged, waiting]) {
      await db.insert(taskDependencies).values({ taskId: d.id, dependsOnId: skipped.id });
    }
    await db.insert(taskDependencies).values({ taskId: waiting.id, dependsOnId: other.id });

    const res = await post(`/api/tasks/${skipped.id}/skip`, { reason: "done by hand" }, as("bob"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      task: { id: skipped.id, state: "done", reason: "skipped: done by hand" },
      transition: { from: "failed_needs_triage", to: "done", actor: "api:bob" },
      skipped: true,
      allowed_actions: ["note"],
    });
    expect(body.unblocks).toEqual(
      [
        { id: free.id, title: "free now", state: "intake", triaged: true },
        { id: untriaged.id, title: "not triaged", state: "intake", triaged: false },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    );
    expect(body.still_waiting).toEqual([
      { id: waiting.id, title: "still waits", state: "intake", waiting_on: [other.id] },
    ]);
    expect(await row(skipped.id)).toMatchObject({ status: "done", statusReason: "skipped: done by hand" });
    const shown = (await (await api.request(`/api/tasks/${skipped.id}`)).json()) as Json;
    expect(shown.task).toMatchObject({ state: "done", skipped: true, failure_class: "auth" });
    expect(shown.allowed_actions).toEqual(["note"]);

    // The move owed task/state.changed (to done): promote, reacting to it, readies the triaged one.
    const changed = api.events.sent.find((e) => e.name === "task/state.changed");
    expect(changed?.data).toMatchObject({ taskId: skipped.id, from: "failed_needs_triage", to: "done" });
    const { deps } = testDeps(db);
    const run = await runFunction(promote, {
      deps,
      event: changed as { name: string; data: Record<string, unknown>; id: string },
    });
    expect(run.result).toEqual({ promoted: [free.id] });
    expect((await row(free.id))?.status).toBe("ready");
    expect((await row(untriaged.id))?.status).toBe("intake");
    expect((await row(waiting.id))?.status).toBe("intake");
  });

  it("refuses a task outside triage (409) and leaves it as it is", async () => {
    const task = await insertTask(t.current.db, { status: "ready" });
    const res = await post(`/api/tasks/${task.id}/skip`);
    expect(res.status).toBe(409);
    expect(((await res.json()) as Json).error.details).toMatchObject({
      state: "ready",
      allowed_actions: ["cancel", "reassign", "note"],
    });
    expect((await row(task.id))?.status).toBe("ready");
  });
});

describe("POST /api/tasks/:id/cancel", () => {
  const open: TaskState[] = [
    "intake",
    "ready",
    "working",
    "awaiting_internal_review",
    "awaiting_client_review",
    "blocked_external",
    "failed_needs_triage",
  ];
  it.each(open)("cancels a task in %s and asks for its runs to stop", async (state) => {
    const task = await insertTask(t.current.db, { status: state });
    const res = await post(`/api/tasks/${task.id}/cancel`, { reason: "client withdrew" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).transition).toMatchObject({ from: state, to: "cancelled" });
    expect((await row(task.id))?.status).toBe("cancelled");
    expect(api.events.sent.map((e) => e.name)).toEqual(["task/state.changed", "task/cancel.requested"]);
    expect(api.events.sent[1]?.data).toEqual({
      taskId: task.id,
      reason: "cancelled: client withdrew",
      actor: "api",
    });
  });

  it.each(["done", "cancelled"] as const)(
    "refuses a %s task with 409, only a note allowed",
    async (state) => {
      const task = await insertTask(t.current.db, { status: state });
      const res = await post(`/api/tasks/${task.id}/cancel`);
      expect(res.status).toBe(409);
      expect(((await res.json()) as Json).error.details).toMatchObject({ state, allowed_actions: ["note"] });
      expect(api.events.sent).toEqual([]);
    },
  );

  it("stops a working run: its cancel event frees the slot the run held", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    const task = await insertTask(db, { status: "ready", workerId: worker });
    const runId = newId("run");
    await leaseTask(db, { taskId: task.id, workerId: worker, runId, key: freshKey(), now: new Date() });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.workerId, worker))).toHaveLength(1);

    const res = await post(`/api/tasks/${task.id}/cancel`);
    expect(((await res.json()) as Json).transition).toMatchObject({ from: "working", to: "cancelled" });
    const cancel = api.events.sent.find((e) => e.name === "task/cancel.requested");
    // work's cancelOn matches `async.data.taskId == event.data.taskId`.
    expect(cancel?.data).toMatchObject({ taskId: task.id });
    const { deps, events } = testDeps(db);
    const run = await runFunction(releaseOnCancel, {
      deps,
      event: cancel as { name: string; data: Record<string, unknown>; id: string },
    });
    expect(run.result).toEqual({ released: true });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.workerId, worker))).toEqual([]);
    expect(events.sent.map((e) => e.name)).toEqual(["worker/released"]);
  });
});

describe("POST /api/tasks/:id/unblock", () => {
  it("moves a blocked task to ready and refuses a failed one (that is a retry)", async () => {
    const blocked = await insertTask(t.current.db, { status: "blocked_external" });
    const res = await post(`/api/tasks/${blocked.id}/unblock`, { reason: "the client sent the file" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).task).toMatchObject({
      state: "ready",
      reason: "unblocked: the client sent the file",
    });
    const task = await failed(t.current.db);
    const refused = await post(`/api/tasks/${task.id}/unblock`);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as Json).error.details.allowed_actions).toContain("retry");
  });
});

describe("retry and unblock while a dependency is open", () => {
  it("are refused with 409 naming the open dependencies, changing nothing; once they have ended they go", async () => {
    const db = t.current.db;
    const open = await insertTask(db, { status: "working" });
    const dropped = await insertTask(db, { status: "cancelled" });
    const task = await failed(db);
    const parent = await insertTask(db, {
      status: "blocked_external",
      statusReason:
        "subtasks: waiting for its open subtasks; the work resumes in a new run once they are all done",
    });
    await db.insert(taskDependencies).values([
      { taskId: task.id, dependsOnId: open.id },
      { taskId: task.id, dependsOnId: dropped.id },
      { taskId: parent.id, dependsOnId: open.id },
    ]);
    for (const [id, action] of [
      [task.id, "retry"],
      [parent.id, "unblock"],
    ] as const) {
      const res = await post(`/api/tasks/${id}/${action}`);
      expect(res.status).toBe(409);
      const error = ((await res.json()) as Json).error;
      expect(error.message).toContain(`${open.id} (working)`);
      expect(error.message).not.toContain(dropped.id);
      expect(error.details).toMatchObject({
        reason: "dependencies_open",
        openDependencies: [{ id: open.id }],
      });
    }
    expect((await row(task.id))?.status).toBe("failed_needs_triage");
    expect((await row(parent.id))?.status).toBe("blocked_external");
    expect(api.events.sent).toEqual([]);

    // Its dependency ended (a cancelled one does not hold it either): the retry goes through.
    await db.update(tasks).set({ status: "done" }).where(eq(tasks.id, open.id));
    expect((await post(`/api/tasks/${task.id}/retry`)).status).toBe(200);
    expect((await row(task.id))?.status).toBe("ready");
  });
});

describe("POST /api/tasks/:id/reassign", () => {
  it("changes the worker of a ready task in one audited move and tells the scheduler", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    const task = await insertTask(db, { status: "ready", version: 3 });
    const res = await post(
      `/api/tasks/${task.id}/reassign`,
      { worker, reason: "crm-setup is busy" },
      as("eve"),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      task: { id: task.id, state: "ready", version: 4, worker },
      reassignment: { from: "crm-setup", to: worker, changed: true, replayed: false },
    });
    expect(await row(task.id)).toMatchObject({ status: "ready", workerId: worker, version: 4 });
    const [ev] = await eventsOf(task.id);
    expect(ev).toMatchObject({
      id: body.reassignment.event_id,
      kind: "triage",
      actor: "api:eve",
      payload: {
        via: "admin",
        from: "crm-setup",
        to: worker,
        state: "ready",
        reason: `reassigned to ${worker}: crm-setup is busy`,
      },
    });
    expect(api.events.sent.map((e) => [e.name, e.id])).toEqual([["task/ready", `task-ready:${task.id}:4`]]);
  });

  it("reassigns a failed task without moving it, and repeats an Idempotency-Key as one change", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    const task = await failed(db);
    const headers = { "idempotency-key": "reassign-1" };
    const first = (await (await post(`/api/tasks/${task.id}/reassign`, { worker }, headers)).json()) as Json;
    expect(first.task).toMatchObject({ state: "failed_needs_triage", worker });
    const again = await post(`/api/tasks/${task.id}/reassign`, { worker }, headers);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as Json).reassignment).toMatchObject({
      event_id: first.reassignment.event_id,
      replayed: true,
    });
    const other = await addWorker(db);
    const conflict = await post(`/api/tasks/${task.id}/reassign`, { worker: other }, headers);
    expect(conflict.status).toBe(409);
    expect(await eventsOf(task.id)).toHaveLength(1);
    expect(api.events.sent).toEqual([]); // not ready: nothing for the scheduler
  });

  it("changes nothing when the task already has that worker", async () => {
    const task = await insertTask(t.current.db, { status: "ready" });
    const res = await post(`/api/tasks/${task.id}/reassign`, { worker: "crm-setup" });
    expect(((await res.json()) as Json).reassignment).toMatchObject({ changed: false, event_id: null });
    expect(await eventsOf(task.id)).toEqual([]);
  });

  it.each([
    "intake",
    "working",
    "awaiting_internal_review",
    "awaiting_client_review",
    "done",
    "cancelled",
  ] as const)("refuses a %s task with 409", async (state) => {
    const worker = await addWorker(t.current.db);
    const task = await insertTask(t.current.db, { status: state });
    const res = await post(`/api/tasks/${task.id}/reassign`, { worker });
    expect(res.status).toBe(409);
    expect(((await res.json()) as Json).error.details).toMatchObject({ state, action: "reassign" });
    expect((await row(task.id))?.workerId).toBe("crm-setup");
  });

  it("is 400 naming `worker` for a missing, unknown or inactive worker, 404 for an unknown task", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready" });
    const missing = await post(`/api/tasks/${task.id}/reassign`, {});
    expect(((await missing.json()) as Json).error).toMatchObject({ code: "VALIDATION", field: "worker" });
    const unknown = await post(`/api/tasks/${task.id}/reassign`, { worker: "nobody" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as Json).error).toMatchObject({
      field: "worker",
      message: "Worker nobody does not exist.",
    });
    const idle = await addWorker(db, false);
    const inactive = await post(`/api/tasks/${task.id}/reassign`, { worker: idle });
    expect(((await inactive.json()) as Json).error).toMatchObject({
      field: "worker",
      message: `Worker ${idle} is not active.`,
    });
    expect((await post(`/api/tasks/${newId("task")}/reassign`, { worker: idle })).status).toBe(404);
    expect(await row(task.id)).toMatchObject({ workerId: "crm-setup", version: 0 });
  });
});

describe("POST /api/tasks/:id/notes", () => {
  it("records the note with the caller the Foreman-Actor header names", async () => {
    const task = await insertTask(t.current.db, { status: "done" });
    const res = await post(`/api/tasks/${task.id}/notes`, { text: "closed by phone" }, as("carol"));
    expect(res.status).toBe(201);
    const [ev] = await t.current.db
      .select()
      .from(taskEvents)
      .where(and(eq(taskEvents.taskId, task.id), eq(taskEvents.kind, "note")));
    expect(ev).toMatchObject({
      actor: "api:carol",
      payload: { text: "closed by phone", author: "api:carol" },
    });
  });
});

describe("GET /api/tasks?failure_class=", () => {
  it("lists the tasks whose last failure had that class, and refuses an unknown class", async () => {
    const db = t.current.db;
    const project = `proj_${newId("proj").slice(5)}`;
    await db.insert(projects).values({ id: project, name: project });
    const auth = await failed(db, { projectId: project });
    await failed(db, { projectId: project, failureClass: "timeout", statusReason: "timeout: stuck" });
    const res = await api.request(`/api/tasks?project=${project}&failure_class=auth`);
    expect(((await res.json()) as Json).tasks.map((x: Json) => [x.id, x.failure_class])).toEqual([
      [auth.id, "auth"],
    ]);
    const bad = await api.request("/api/tasks?failure_class=gremlins");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.field).toBe("query.failure_class");
  });
});

describe("auth", () => {
  it.each(["retry", "skip", "unblock", "cancel", "reassign", "notes"])(
    "refuses POST /api/tasks/:id/%s without or with a wrong token, changing nothing",
    async (cmd) => {
      const task = await failed(t.current.db);
      for (const token of [null, "wrong-token-0123456789"]) {
        const res = await api.request(`/api/tasks/${task.id}/${cmd}`, {
          method: "POST",
          token,
          json: cmd === "notes" ? { text: "x" } : cmd === "reassign" ? { worker: "crm-setup" } : {},
        });
        expect(res.status).toBe(401);
        expect(((await res.json()) as Json).error.code).toBe("UNAUTHORIZED");
      }
      expect(await row(task.id)).toMatchObject({ status: "failed_needs_triage", version: 4 });
      expect(await eventsOf(task.id)).toEqual([]);
    },
  );
});
