// The knowledge API over the in-process app: add (201), field and size limits (400 naming the field
// and limit, 413 over the request limit), an unknown project (400 naming project), ranked and
// project-scoped search with snippets, delete (204, then 404), and bearer auth on every route. A
// refused request writes nothing.
import { count } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { knowledge, projects } from "../../db/schema/index.ts";
import { newId } from "../../lib/ids.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";

const t = useTestDb();
type Json = Record<string, any>;
let api: ReturnType<typeof testApp>;
let mine: string;
let theirs: string;

beforeAll(async () => {
  api = testApp(t.current.db, { FOREMAN_MAX_BODY_BYTES: "262144" });
  mine = newId("proj");
  theirs = newId("proj");
  await t.current.db.insert(projects).values([
    { id: mine, name: `api mine ${mine}` },
    { id: theirs, name: `api theirs ${theirs}` },
  ]);
});

const rows = async () => (await t.current.db.select({ n: count() }).from(knowledge))[0]?.n ?? 0;
const add = async (json: unknown) => api.request("/api/knowledge", { method: "POST", json });

describe("POST /api/knowledge", () => {
  it("adds an entry and answers 201 with it", async () => {
    const res = await add({
      title: "Help desk routing",
      body: "# Routing\nAssign support@ email to the Support team, round robin.",
      kind: "sop",
      tags: ["service-hub", "routing"],
    });
    expect(res.status).toBe(201);
    const { knowledge: k } = (await res.json()) as Json;
    expect(k).toMatchObject({
      title: "Help desk routing",
      kind: "sop",
      project: null,
      tags: ["service-hub", "routing"],
      source_path: null,
    });
    expect(k.id).toMatch(/^kn_/);
    expect(Date.parse(k.created_at)).not.toBeNaN();
  });

  it("adds an entry for a project", async () => {
    const res = await add({ title: "Client brief", body: "Their goals.", kind: "brief", project: mine });
    expect(res.status).toBe(201);
    expect(((await res.json()) as Json).knowledge).toMatchObject({ project: mine, kind: "brief", tags: [] });
  });

  const bad: [string, unknown, string, RegExp][] = [
    ["a missing title", { body: "b" }, "title", /expected string/],
    ["a title over 200 characters", { title: "t".repeat(201), body: "b" }, "title", /<=200/],
    ["a body over 100 KB", { title: "t", body: "b".repeat(102_401) }, "body", /<=102400/],
    [
      "21 tags",
      { title: "t", body: "b", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      "tags",
      /<=20/,
    ],
    ["a tag over 40 characters", { title: "t", body: "b", tags: ["x".repeat(41)] }, "tags.0", /<=40/],
    ["an unknown kind", { title: "t", body: "b", kind: "memo" }, "kind", /brief/],
    ["an unknown field", { title: "t", body: "b", path: "x" }, "path", /nrecognized/],
    ["a NUL character", { title: "t", body: "a\u0000b" }, "body", /NUL/],
    ["an unknown project", { title: "t", body: "b", project: "proj_nope" }, "project", /proj_nope/],
  ];
  it.each(bad)(
    "refuses %s with 400 naming the field, and writes nothing",
    async (_, json, field, message) => {
      const before = await rows();
      const res = await add(json);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as Json;
      expect(error).toMatchObject({ code: "VALIDATION", field });
      expect(error.message).toMatch(message);
      expect(error.requestId).toBeTruthy();
      expect(await rows()).toBe(before);
    },
  );

  it("refuses a non-JSON body and a missing content type with 400", async () => {
    const notJson = await api.request("/api/knowledge", {
      method: "POST",
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as Json).error.field).toBe("body");
    const noType = await api.request("/api/knowledge", { method: "POST", body: "{}" });
    expect(((await noType.json()) as Json).error.field).toBe("Content-Type");
  });

  it("refuses a request over FOREMAN_MAX_BODY_BYTES with 413 naming the limit", async () => {
    const small = testApp(t.current.db, { FOREMAN_MAX_BODY_BYTES: "2048" });
    const before = await rows();
    const res = await small.request("/api/knowledge", {
      method: "POST",
      json: { title: "t", body: "b".repeat(4096) },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as Json).error).toMatchObject({
      code: "LIMIT_EXCEEDED",
      field: "body",
      details: { limit: 2048 },
    });
    expect(await rows()).toBe(before);
  });
});

describe("GET /api/knowledge", () => {
  beforeAll(async () => {
    for (const json of [
      {
        title: "Service Hub configuration",
        kind: "brief",
        tags: ["service-hub", "tickets"],
        body: "Help desk channels, ticket properties, the support ticket pipeline and SLAs.",
      },
      {
        title: "Ticket pipeline conventions for foreman tasks",
        kind: "sop",
        body: "One stage per task state; Service Hub Starter for extra ticket pipelines.",
      },
      {
        title: "Marketing Hub setup",
        kind: "brief",
        body: "Tracking code, email sending domain, forms; Service Hub is a separate ticket pipeline brief.",
      },
      { title: "Mine: Service Hub ticket pipeline", body: "An extra Escalated status.", project: mine },
      { title: "Theirs: Service Hub ticket pipeline", body: "Private.", project: theirs },
    ]) {
      expect((await add(json)).status).toBe(201);
    }
  });

  const search = async (query: string) => {
    const res = await api.request(`/api/knowledge?${query}`);
    return { status: res.status, body: (await res.json()) as Json };
  };

  it("answers ranked results with snippets, the Service Hub brief first", async () => {
    const { status, body } = await search(`q=${encodeURIComponent("service hub ticket pipeline")}`);
    expect(status).toBe(200);
    const titles = body.results.map((r: Json) => r.title);
    expect(titles[0]).toBe("Service Hub configuration");
    expect(titles).toEqual(
      expect.arrayContaining(["Ticket pipeline conventions for foreman tasks", "Marketing Hub setup"]),
    );
    const [top] = body.results;
    expect(top).toMatchObject({
      kind: "brief",
      project: null,
      tags: ["service-hub", "tickets"],
      source_path: null,
    });
    expect(top.snippet).toContain("**ticket** **pipeline**");
    expect(top.rank).toBeGreaterThan(body.results[1].rank);
    expect(top).not.toHaveProperty("body");
  });

  it("includes the project's own entries with project=, never another project's", async () => {
    const global = await search("q=ticket+pipeline");
    expect(global.body.results.map((r: Json) => r.title)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(Mine|Theirs):/)]),
    );
    const scoped = (await search(`q=ticket+pipeline&project=${mine}`)).body.results.map((r: Json) => r.title);
    expect(scoped).toContain("Mine: Service Hub ticket pipeline");
    expect(scoped).not.toContain("Theirs: Service Hub ticket pipeline");
  });

  it("honours limit", async () => {
    expect((await search("q=pipeline&limit=1")).body.results).toHaveLength(1);
  });

  it.each([
    ["no q", "", "query.q"],
    ["an empty q", "q=", "query.q"],
    ["limit=0", "q=x&limit=0", "query.limit"],
    ["limit=51", "q=x&limit=51", "query.limit"],
    ["an unknown parameter", "q=x&tags=y", "query.tags"],
  ])("refuses %s with 400 naming the parameter", async (_, query, field) => {
    const { status, body } = await search(query);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: "VALIDATION", field });
  });
});

describe("DELETE /api/knowledge/:id", () => {
  it("deletes with 204, then answers 404", async () => {
    const { knowledge: k } = (await (await add({ title: "Temporary", body: "x" })).json()) as Json;
    const res = await api.request(`/api/knowledge/${k.id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const again = await api.request(`/api/knowledge/${k.id}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(((await again.json()) as Json).error).toMatchObject({ code: "NOT_FOUND", field: "id" });
  });

  it("answers 404 for an id that is not a knowledge id", async () => {
    for (const id of ["nope", newId("task")]) {
      const res = await api.request(`/api/knowledge/${id}`, { method: "DELETE" });
      expect(res.status).toBe(404);
    }
  });
});

describe("auth", () => {
  const routes: [string, string, RequestInit & { json?: unknown }][] = [
    ["POST", "/api/knowledge", { method: "POST", json: { title: "t", body: "b" } }],
    ["GET", "/api/knowledge?q=pipeline", {}],
    ["DELETE", `/api/knowledge/${newId("kn")}`, { method: "DELETE" }],
  ];
  it.each(routes)("%s %s needs the bearer token (401) and writes nothing", async (_, path, init) => {
    const before = await rows();
    for (const token of [null, "wrong-token-0123456789"]) {
      const res = await api.request(path, { ...init, token });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      expect(((await res.json()) as Json).error.code).toBe("UNAUTHORIZED");
    }
    expect(await rows()).toBe(before);
  });
});
