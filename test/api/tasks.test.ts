// The task API end to end over the in-process app: submit, validation and auth errors (nothing
// written, nothing sent), idempotent resubmission, pagination and the timeline.
import { count, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { taskDependencies, taskEvents, tasks } from "../../db/schema/index.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey } from "../fixtures.ts";

const t = useTestDb();
let api: ReturnType<typeof testApp>;
beforeEach(() => {
  api = testApp(t.current.db, { FOREMAN_MAX_BODY_BYTES: "2048" });
});

const taskCount = async () => (await t.current.db.select({ n: count() }).from(tasks))[0]?.n ?? 0;
type Json = Record<string, any>;

describe("POST /api/tasks", () => {
  it("creates a task in intake with only a title, defaults filled, and sends task/submitted", async () => {
    const res = await api.request("/api/tasks", { method: "POST", json: { title: "Set up Service Hub" } });
    expect(res.status).toBe(201);
    const { task } = (await res.json()) as Json;
    expect(task).toMatchObject({
      title: "Set up Service Hub",
      state: "intake",
      project: "proj_default",
      worker: "crm-setup",
      priority: "normal",
      version: 0,
    });
    expect(res.headers.get("location")).toBe(`/api/tasks/${task.id}`);
    const [row] = await t.current.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.status).toBe("intake");
    expect(api.events.sent).toEqual([
      expect.objectContaining({
        name: "task/submitted",
        id: `task-submitted:${task.id}`,
        data: { taskId: task.id, source: "api" },
      }),
    ]);
  });

  it("accepts every optional field and records dependencies", async () => {
    const dep = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "first" } })
    ).json()) as Json;
    const res = await api.request("/api/tasks", {
      method: "POST",
      json: {
        title: "second",
        description: "after the first",
        project: "proj_default",
        priority: "urgent",
        worker: "crm-setup",
        rubric: ["checklist complete", "no PII in notes"],
        depends_on: [dep.task.id],
        dry_run: true,
      },
    });
    expect(res.status).toBe(201);
    const { task } = (await res.json()) as Json;
    expect(task).toMatchObject({
      priority: "urgent",
      rubric: ["checklist complete", "no PII in notes"],
      dry_run: true,
    });
    const edges = await t.current.db
      .select()
      .from(taskDependencies)
      .where(eq(taskDependencies.taskId, task.id));
    expect(edges.map((e) => e.dependsOnId)).toEqual([dep.task.id]);
  });

  const bad: [string, RequestInit & { json?: unknown }, number, string, string][] = [
    [
      "malformed JSON",
      { body: "{nope", headers: { "content-type": "application/json" } },
      400,
      "VALIDATION",
      "body",
    ],
    [
      "a non-JSON content type",
      { body: "title=x", headers: { "content-type": "text/plain" } },
      400,
      "VALIDATION",
      "Content-Type",
    ],
    ["a missing title", { json: {} }, 400, "VALIDATION", "title"],
    ["a blank title", { json: { title: "   " } }, 400, "VALIDATION", "title"],
    ["an unknown field", { json: { title: "x", colour: "red" } }, 400, "VALIDATION", "colour"],
    ["a wrong type", { json: { title: "x", priority: 3 } }, 400, "VALIDATION", "priority"],
    ["a too-long title", { json: { title: "x".repeat(201) } }, 400, "VALIDATION", "title"],
    [
      "too many rubric items",
      { json: { title: "x", rubric: Array(21).fill("r") } },
      400,
      "VALIDATION",
      "rubric",
    ],
    ["an unknown project", { json: { title: "x", project: "proj_nope" } }, 400, "VALIDATION", "project"],
    ["an unknown worker", { json: { title: "x", worker: "nobody" } }, 400, "VALIDATION", "worker"],
    [
      "an unknown dependency",
      { json: { title: "x", depends_on: ["task_0000000000aaaaaaaaaaaaaaaa"] } },
      400,
      "VALIDATION",
      "depends_on",
    ],
    [
      "a malformed dependency id",
      { json: { title: "x", depends_on: ["42"] } },
      400,
      "VALIDATION",
      "depends_on.0",
    ],
    [
      "an oversized body",
      { json: { title: "x", description: "y".repeat(4096) } },
      413,
      "LIMIT_EXCEEDED",
      "body",
    ],
    [
      "a bad Idempotency-Key",
      { json: { title: "x" }, headers: { "idempotency-key": "has space" } },
      400,
      "VALIDATION",
      "Idempotency-Key",
    ],
  ];
  for (const [name, init, status, code, field] of bad) {
    it(`refuses ${name} with ${status} naming '${field}', writing and sending nothing`, async () => {
      const before = await taskCount();
      const res = await api.request("/api/tasks", { method: "POST", ...init });
      expect(res.status).toBe(status);
      const body = (await res.json()) as Json;
      expect(body.error).toMatchObject({ code, field });
      expect(body.error.message).toEqual(expect.any(String));
      expect(body.error.requestId).toEqual(expect.any(String));
      expect(await taskCount()).toBe(before);
      expect(api.events.sent).toHaveLength(0);
    });
  }

  it("returns the same task for a repeated Idempotency-Key and refuses the key for another body", async () => {
    const init = { method: "POST", json: { title: "once" }, headers: { "idempotency-key": "order-17" } };
    const first = await api.request("/api/tasks", init);
    const second = await api.request("/api/tasks", init);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const a = (await first.json()) as Json;
    const b = (await second.json()) as Json;
    expect(b.task.id).toBe(a.task.id);
    expect(await t.current.db.select().from(tasks).where(eq(tasks.sourceRef, "order-17"))).toHaveLength(1);
    const other = await api.request("/api/tasks", { ...init, json: { title: "different" } });
    expect(other.status).toBe(409);
    expect(((await other.json()) as Json).error).toMatchObject({
      code: "CONFLICT",
      field: "Idempotency-Key",
    });
  });

  it("keeps the task and reports a warning when the event cannot be sent", async () => {
    api.events.failWith = new Error("fetch failed");
    const res = await api.request("/api/tasks", { method: "POST", json: { title: "offline inngest" } });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body.warnings[0]).toContain("fetch failed");
    const [row] = await t.current.db.select().from(tasks).where(eq(tasks.id, body.task.id));
    expect(row?.status).toBe("intake");
  });
});

describe("auth", () => {
  for (const [name, token] of [
    ["no token", null],
    ["a wrong token", "wrong-token-0123456789"],
  ] as const) {
    it(`refuses ${name} on every task route with 401`, async () => {
      for (const [method, path] of [
        ["POST", "/api/tasks"],
        ["GET", "/api/tasks"],
        ["GET", "/api/tasks/task_0000000000aaaaaaaaaaaaaaaa"],
      ]) {
        const before = await taskCount();
        const res = await api.request(path as string, {
          method,
          token,
          json: method === "POST" ? { title: "x" } : undefined,
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe("Bearer");
        expect(((await res.json()) as Json).error).toMatchObject({
          code: "UNAUTHORIZED",
          field: "Authorization",
        });
        expect(await taskCount()).toBe(before);
      }
      expect(api.events.sent).toHaveLength(0);
    });
  }

  it("leaves /health open", async () => {
    const res = await api.request("/health", { token: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: "ok",
      database: { status: "ok" },
      dry_run: true,
      local_model: null,
    });
  });
});

describe("GET /api/tasks", () => {
  it("filters by state and project and pages with a cursor, newest first, without gaps or repeats", async () => {
    const project = `proj_p${Date.now()}`;
    await t.current.db
      .insert((await import("../../db/schema/index.ts")).projects)
      .values({ id: project, name: project });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = (await (
        await api.request("/api/tasks", { method: "POST", json: { title: `t${i}`, project } })
      ).json()) as Json;
      ids.push(r.task.id);
    }
    await transition(t.current.db, {
      key: freshKey(),
      taskId: ids[0] as string,
      to: "cancelled",
      actor: "test",
    });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/api/tasks?project=${project}&state=intake&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const body = (await (await api.request(q)).json()) as Json;
      expect(body.tasks.length).toBeLessThanOrEqual(2);
      for (const task of body.tasks) expect(task).toMatchObject({ project, state: "intake" });
      seen.push(...body.tasks.map((x: Json) => x.id));
      cursor = body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids.slice(1).reverse());
  });

  it("refuses an unknown state, a bad limit and a forged cursor with 400 naming the parameter", async () => {
    for (const [q, field] of [
      ["state=finished", "query.state"],
      ["limit=0", "query.limit"],
      ["limit=500", "query.limit"],
      ["cursor=abc", "query.cursor"],
      ["colour=red", "query.colour"],
    ]) {
      const res = await api.request(`/api/tasks?${q}`);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as Json).error).toMatchObject({ code: "VALIDATION", field });
    }
  });
});

describe("GET /api/tasks/:id", () => {
  it("returns the task, its dependencies and the event timeline, newest first", async () => {
    const first = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "a" } })
    ).json()) as Json;
    const second = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "b", depends_on: [first.task.id] } })
    ).json()) as Json;
    await transition(t.current.db, {
      key: freshKey(),
      taskId: second.task.id,
      to: "blocked_external",
      reason: "needs login",
      actor: "ops",
    });
    await transition(t.current.db, { key: freshKey(), taskId: second.task.id, to: "ready", actor: "ops" });

    const res = await api.request(`/api/tasks/${second.task.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.task).toMatchObject({ id: second.task.id, state: "ready", version: 2 });
    expect(body.depends_on).toEqual([{ id: first.task.id, state: "intake" }]);
    expect(body.timeline.map((e: Json) => [e.kind, e.payload.to ?? null])).toEqual([
      ["state_changed", "ready"],
      ["state_changed", "blocked_external"],
      ["submitted", null],
    ]);
    expect(body.timeline_next_cursor).toBeNull();
    expect(body.timeline[1]).toMatchObject({
      actor: "ops",
      payload: { from: "intake", reason: "needs login" },
    });
    const events = await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, second.task.id));
    expect(body.task.last_event_id).toBe(events.at(-1)?.id);
  });

  it("pages a long timeline newest first with a cursor, without gaps or repeats", async () => {
    const created = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "long" } })
    ).json()) as Json;
    const id = created.task.id as string;
    const states = ["blocked_external", "ready", "working", "blocked_external", "ready"] as const;
    for (const to of states)
      await transition(t.current.db, { key: freshKey(), taskId: id, to, actor: "ops" });
    const seen: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const q: string = `/api/tasks/${id}?events_limit=2${cursor ? `&events_before=${cursor}` : ""}`;
      const body = (await (await api.request(q)).json()) as Json;
      expect(body.timeline.length).toBeLessThanOrEqual(2);
      seen.push(...body.timeline.map((e: Json) => e.id));
      cursor = body.timeline_next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    const all = await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id));
    expect(seen).toEqual(all.map((e) => e.id).sort((a, b) => b - a));
    const bad = await api.request(`/api/tasks/${id}?events_limit=0`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({ field: "query.events_limit" });
  });

  it("answers 404 with the error shape for an unknown or malformed id", async () => {
    for (const id of ["task_0000000000aaaaaaaaaaaaaaaa", "nope"]) {
      const res = await api.request(`/api/tasks/${id}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as Json).error).toMatchObject({ code: "NOT_FOUND" });
    }
  });
});

describe("POST /api/tasks: who submitted", () => {
  it("records the Foreman-Actor person as the submitter, and refuses a malformed one (400)", async () => {
    const res = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "submitted by a person" },
      headers: { "foreman-actor": "alice@example.com" },
    });
    expect(res.status).toBe(201);
    const { task } = (await res.json()) as Json;
    const body = (await (await api.request(`/api/tasks/${task.id}`)).json()) as Json;
    expect(body.timeline.find((e: Json) => e.kind === "submitted")?.actor).toBe("api:alice@example.com");
    const bad = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "bad actor header" },
      headers: { "foreman-actor": "alice smith" },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({ field: "Foreman-Actor" });
  });
});

describe("POST /api/tasks/:id/notes", () => {
  it("adds a note to the timeline, refuses bad text and unknown tasks", async () => {
    const created = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "noted" } })
    ).json()) as Json;
    const res = await api.request(`/api/tasks/${created.task.id}/notes`, {
      method: "POST",
      json: { text: "The client wants the stage called 'Waiting on us'." },
    });
    expect(res.status).toBe(201);
    const body = (await (await api.request(`/api/tasks/${created.task.id}`)).json()) as Json;
    // The note is activity (updated_at), not a move: the task is in intake since it was created.
    expect(body.task.state_since).toBe(created.task.state_since);
    expect(body.task.state_since).toBe(created.task.created_at);
    expect(body.timeline[0]).toMatchObject({
      kind: "note",
      actor: "api",
      payload: { text: expect.stringContaining("Waiting on us") },
    });
    const bad = await api.request(`/api/tasks/${created.task.id}/notes`, {
      method: "POST",
      json: { text: "a\u0000b" },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error).toMatchObject({ field: "text" });
    const missing = await api.request("/api/tasks/task_0000000000aaaaaaaaaaaaaaaa/notes", {
      method: "POST",
      json: { text: "x" },
    });
    expect(missing.status).toBe(404);
    const unauth = await api.request(`/api/tasks/${created.task.id}/notes`, {
      method: "POST",
      json: { text: "x" },
      token: null,
    });
    expect(unauth.status).toBe(401);
  });
});
