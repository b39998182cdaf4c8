// The plan API over the in-process app: create a plan with a DAG of tasks (201, task/submitted sent
// for each, a warning when the engine is unreachable), read it back with states and edges, refuse bad
// input (a cycle named member by member, unknown refs, schema errors, body limit) writing and sending
// nothing, and refuse requests without the bearer token.
import { count } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { plans, tasks } from "../../db/schema/index.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey, insertTask } from "../fixtures.ts";

const t = useTestDb();
let api: ReturnType<typeof testApp>;
beforeEach(() => {
  api = testApp(t.current.db, { FOREMAN_MAX_BODY_BYTES: "4096" });
});
type Json = Record<string, any>;

const counts = async () => ({
  plans: (await t.current.db.select({ n: count() }).from(plans))[0]?.n,
  tasks: (await t.current.db.select({ n: count() }).from(tasks))[0]?.n,
});

const diamond = {
  title: "Onboard Acme",
  tasks: [
    { ref: "audit", title: "Audit the portal" },
    { ref: "pipelines", title: "Set up pipelines", depends_on: ["audit"], priority: "high" },
    { ref: "properties", title: "Create properties", depends_on: ["audit"] },
    { ref: "activate", title: "Activation checklist", depends_on: ["pipelines", "properties"] },
  ],
};

describe("POST /api/plans", () => {
  it("creates the plan and its tasks in intake, answers 201 with refs and edges, and sends task/submitted", async () => {
    const res = await api.request("/api/plans", { method: "POST", json: diamond });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body.plan).toMatchObject({ title: "Onboard Acme", project: "proj_default" });
    expect(res.headers.get("location")).toBe(`/api/plans/${body.plan.id}`);
    expect(body.tasks.map((x: Json) => x.ref)).toEqual(["audit", "pipelines", "properties", "activate"]);
    const id = Object.fromEntries(body.tasks.map((x: Json) => [x.ref, x.id]));
    for (const task of body.tasks) expect(task).toMatchObject({ state: "intake", plan: body.plan.id });
    expect(body.tasks[1]).toMatchObject({ priority: "high", depends_on: [id.audit] });
    expect(body.tasks[3].depends_on).toEqual([id.pipelines, id.properties]);
    expect(body.warnings).toBeUndefined();
    expect(api.events.sent.map((e) => e.id)).toEqual(body.tasks.map((x: Json) => `task-submitted:${x.id}`));
  });

  it("keeps the plan and warns when the engine is unreachable", async () => {
    api.events.failWith = new Error("fetch failed");
    const res = await api.request("/api/plans", { method: "POST", json: diamond });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body.warnings[0]).toContain("fetch failed");
    expect(body.tasks).toHaveLength(4);
  });

  it("answers an Idempotency-Key repeat with the same plan (200, replayed), writing and sending nothing", async () => {
    const key = `plan-${freshKey()}`;
    const headers = { "idempotency-key": key };
    const first = await api.request("/api/plans", { method: "POST", json: diamond, headers });
    expect(first.status).toBe(201);
    const a = (await first.json()) as Json;
    const sent = api.events.sent.length + 1; // the added task's task/submitted
    // A task added to the plan afterwards is not one of the plan's own.
    const added = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "Added later", plan: a.plan.id },
    });
    expect(added.status).toBe(201);
    const before = await counts();
    const again = await api.request("/api/plans", { method: "POST", json: diamond, headers });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.headers.get("location")).toBe(`/api/plans/${a.plan.id}`);
    expect(await again.json()).toEqual(a);
    expect(await counts()).toEqual(before);
    expect(api.events.sent.length).toBe(sent);

    const other = await api.request("/api/plans", {
      method: "POST",
      json: { ...diamond, title: "Onboard Globex" },
      headers,
    });
    expect(other.status).toBe(409);
    expect(((await other.json()) as Json).error).toMatchObject({
      code: "CONFLICT",
      field: "Idempotency-Key",
    });
    expect(await counts()).toEqual(before);

    // Without a key, the same body is another plan.
    const unkeyed = await api.request("/api/plans", { method: "POST", json: diamond });
    expect(((await unkeyed.json()) as Json).plan.id).not.toBe(a.plan.id);
  });

  it("refuses a cycle with 400 naming its members in order, writing and sending nothing", async () => {
    const before = await counts();
    const res = await api.request("/api/plans", {
      method: "POST",
      json: {
        title: "loop",
        tasks: [
          { ref: "a", title: "a", depends_on: ["c"] },
          { ref: "b", title: "b", depends_on: ["a"] },
          { ref: "c", title: "c", depends_on: ["b"] },
        ],
      },
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as Json;
    expect(error).toMatchObject({
      code: "VALIDATION",
      field: "tasks.1.depends_on.0", // b → a closes it
      details: { cycle: ["a", "c", "b", "a"] },
    });
    expect(error.message).toContain("a → c → b → a");
    expect(await counts()).toEqual(before);
    expect(api.events.sent).toHaveLength(0);
  });

  const bad: [string, RequestInit & { json?: unknown }, number, string, string][] = [
    [
      "an unknown ref",
      {
        json: {
          title: "p",
          tasks: [
            { ref: "a", title: "a" },
            { ref: "b", title: "b", depends_on: ["zz"] },
          ],
        },
      },
      400,
      "VALIDATION",
      "tasks.1.depends_on.0",
    ],
    [
      "an unknown existing task",
      {
        json: {
          title: "p",
          tasks: [{ ref: "a", title: "a", depends_on: ["task_0000000000zzzzzzzzzzzzzzzz"] }],
        },
      },
      400,
      "VALIDATION",
      "tasks.0.depends_on.0",
    ],
    ["a missing title", { json: { tasks: [{ ref: "a", title: "a" }] } }, 400, "VALIDATION", "title"],
    ["no tasks", { json: { title: "p", tasks: [] } }, 400, "VALIDATION", "tasks"],
    [
      "a blank task title",
      { json: { title: "p", tasks: [{ ref: "a", title: " " }] } },
      400,
      "VALIDATION",
      "tasks.0.title",
    ],
    [
      "an unknown field",
      { json: { title: "p", tasks: [{ ref: "a", title: "a", colour: 1 }] } },
      400,
      "VALIDATION",
      "tasks.0.colour",
    ],
    [
      "an unknown project",
      { json: { title: "p", project: "proj_nope", tasks: [{ ref: "a", title: "a" }] } },
      400,
      "VALIDATION",
      "project",
    ],
    [
      "malformed JSON",
      { body: "{nope", headers: { "content-type": "application/json" } },
      400,
      "VALIDATION",
      "body",
    ],
    [
      "a non-JSON body",
      { body: "title=x", headers: { "content-type": "text/plain" } },
      400,
      "VALIDATION",
      "Content-Type",
    ],
    [
      "an oversized body",
      { json: { title: "p", tasks: [{ ref: "a", title: "a", description: "y".repeat(5000) }] } },
      413,
      "LIMIT_EXCEEDED",
      "body",
    ],
  ];
  for (const [name, init, status, code, field] of bad) {
    it(`refuses ${name} with ${status} naming '${field}', writing and sending nothing`, async () => {
      const before = await counts();
      const res = await api.request("/api/plans", { method: "POST", ...init });
      expect(res.status).toBe(status);
      const { error } = (await res.json()) as Json;
      expect(error).toMatchObject({ code, field, requestId: expect.any(String) });
      expect(await counts()).toEqual(before);
      expect(api.events.sent).toHaveLength(0);
    });
  }
});

describe("GET /api/plans/:id", () => {
  it("returns the plan with its tasks in order, their states and their edges with the states depended on", async () => {
    const outside = await insertTask(t.current.db, { status: "done" });
    const created = (await (
      await api.request("/api/plans", {
        method: "POST",
        json: {
          ...diamond,
          tasks: [{ ...diamond.tasks[0], depends_on: [outside.id] }, ...diamond.tasks.slice(1)],
        },
      })
    ).json()) as Json;
    const id = Object.fromEntries(created.tasks.map((x: Json) => [x.ref, x.id]));
    await transition(t.current.db, { taskId: id.audit, to: "ready", key: freshKey(), actor: "test" });

    const res = await api.request(`/api/plans/${created.plan.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.plan).toEqual(created.plan);
    expect(body.tasks.map((x: Json) => x.id)).toEqual(created.tasks.map((x: Json) => x.id));
    expect(body.tasks[0]).toMatchObject({ state: "ready", depends_on: [{ id: outside.id, state: "done" }] });
    expect(body.tasks[3]).toMatchObject({
      state: "intake",
      depends_on: [
        { id: id.pipelines, state: "intake" },
        { id: id.properties, state: "intake" },
      ].sort((a, b) => a.id.localeCompare(b.id)),
    });
  });

  it("answers 404 for an unknown or malformed plan id", async () => {
    for (const path of ["/api/plans/plan_0000000000zzzzzzzzzzzzzzzz", "/api/plans/nope"]) {
      const res = await api.request(path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as Json).error).toMatchObject({ code: "NOT_FOUND", field: "id" });
    }
  });
});

describe("auth", () => {
  for (const [name, token] of [
    ["no token", null],
    ["a wrong token", "wrong-token-0123456789"],
  ] as const) {
    it(`refuses ${name} on every plan route with 401, writing nothing`, async () => {
      const before = await counts();
      for (const [method, path] of [
        ["POST", "/api/plans"],
        ["GET", "/api/plans/plan_0000000000aaaaaaaaaaaaaaaa"],
      ] as const) {
        const res = await api.request(path, {
          method,
          token,
          json: method === "POST" ? diamond : undefined,
        });
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe("Bearer");
        expect(((await res.json()) as Json).error).toMatchObject({ code: "UNAUTHORIZED" });
      }
      expect(await counts()).toEqual(before);
      expect(api.events.sent).toHaveLength(0);
    });
  }
});
