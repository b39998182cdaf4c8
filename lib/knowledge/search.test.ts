// searchKnowledge: the dossier's query. Ranked by relevance with the title and tags weighted over the
// body, global entries plus the asked project's own (never another project's), a highlighted snippet,
// the body only on request.
import { beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { projects } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { newId } from "../ids.ts";
import { addKnowledge } from "./add.ts";
import { searchKnowledge } from "./search.ts";

const t = useTestDb();
const ids: Record<string, string> = {};
let mine: string;
let theirs: string;

beforeAll(async () => {
  const db = t.current.db;
  mine = newId("proj");
  theirs = newId("proj");
  await db.insert(projects).values([
    { id: mine, name: `search mine ${mine}` },
    { id: theirs, name: `search theirs ${theirs}` },
  ]);
  const entries = {
    service: {
      title: "Service Hub configuration",
      kind: "brief",
      tags: ["service-hub", "tickets", "help-desk"],
      body: "Connect the support@ team email to the help desk. Ticket statuses of the support ticket pipeline: New, Waiting on contact, Waiting on us, Closed. SLAs per priority.",
    },
    conventions: {
      title: "Ticket pipeline conventions for foreman tasks",
      kind: "sop",
      tags: ["foreman", "crm-sync"],
      body: "Nine stages, one per task state. Extra ticket pipelines need Service Hub Starter. Properties task_id, task_url, last_event_id.",
    },
    checklist: {
      title: "CRM activation checklist",
      kind: "sop",
      tags: ["activation"],
      body: "Marketing Hub: tracking code, sending domain, forms. Service Hub: inbox, ticket properties, the support ticket pipeline, SLAs. foreman: the task pipeline.",
    },
    marketing: {
      title: "Marketing Hub setup",
      kind: "brief",
      tags: ["marketing-hub", "email"],
      body: "Account defaults, users, tracking code, email footer and subscription types, forms and lists.",
    },
    mine: {
      title: "Our client's Service Hub ticket pipeline",
      kind: "note",
      tags: [],
      body: "This client's ticket pipeline has an extra Escalated status.",
      project: mine,
    },
    theirs: {
      title: "Another client's Service Hub ticket pipeline",
      kind: "note",
      tags: [],
      body: "Their ticket pipeline is private to them.",
      project: theirs,
    },
  } as const;
  for (const [key, input] of Object.entries(entries)) ids[key] = (await addKnowledge(db, input)).id;
});

const titles = async (q: string, project?: string) =>
  (await searchKnowledge(t.current.db, project ? { q, project } : { q })).map((h) => h.title);

describe("searchKnowledge", () => {
  it("ranks the Service Hub brief first for 'service hub ticket pipeline'", async () => {
    const hits = await searchKnowledge(t.current.db, { q: "service hub ticket pipeline" });
    expect(hits.map((h) => h.id)).toEqual([ids.service, ids.conventions, ids.checklist]);
    expect(hits[0]?.rank).toBeGreaterThan(hits[1]?.rank ?? Infinity);
  });

  it("ranks the entry whose title names the subject first", async () => {
    expect((await titles("marketing hub"))[0]).toBe("Marketing Hub setup");
    expect((await titles("ticket pipeline conventions"))[0]).toBe(
      "Ticket pipeline conventions for foreman tasks",
    );
    expect((await titles("activation checklist"))[0]).toBe("CRM activation checklist");
  });

  it("matches tags, stems words and follows web-search syntax", async () => {
    expect(await titles("crm-sync")).toEqual(["Ticket pipeline conventions for foreman tasks"]);
    expect(await titles("configuring")).toEqual(["Service Hub configuration"]);
    expect(await titles('"waiting on contact"')).toEqual(["Service Hub configuration"]);
    expect(await titles("ticket pipeline -foreman")).toEqual(["Service Hub configuration"]);
    expect(await titles("lists or last_event_id")).toHaveLength(2);
  });

  it("returns global entries plus the project's own, never another project's", async () => {
    const global = await titles("ticket pipeline");
    expect(global).not.toContain("Our client's Service Hub ticket pipeline");
    expect(global).not.toContain("Another client's Service Hub ticket pipeline");
    const scoped = await titles("service hub ticket pipeline", mine);
    expect(scoped).toContain("Our client's Service Hub ticket pipeline");
    expect(scoped).toContain("Service Hub configuration");
    expect(scoped).not.toContain("Another client's Service Hub ticket pipeline");
    expect(await titles("escalated", mine)).toEqual(["Our client's Service Hub ticket pipeline"]);
    expect(await titles("escalated", theirs)).toEqual([]);
    expect(await titles("escalated", "proj_unknown")).toEqual([]);
  });

  it("gives a highlighted snippet, the body only with withBody, and honours limit", async () => {
    const [hit] = await searchKnowledge(t.current.db, { q: "priorities", limit: 1 });
    expect(hit).toMatchObject({
      id: ids.service,
      kind: "brief",
      projectId: null,
      body: null,
      sourcePath: null,
    });
    expect(hit?.snippet).toContain("SLAs per **priority**");
    expect(hit?.updatedAt).toBeInstanceOf(Date);
    expect(hit?.tags).toEqual(["service-hub", "tickets", "help-desk"]);
    const [full] = await searchKnowledge(t.current.db, { q: "priorities" }, { withBody: true });
    expect(full?.body).toContain("Connect the support@ team email");
    expect(await searchKnowledge(t.current.db, { q: "pipeline", limit: "2" })).toHaveLength(2);
  });

  it("finds nothing for stop words only or unknown words", async () => {
    expect(await titles("the and of")).toEqual([]);
    expect(await titles("zyzzyva")).toEqual([]);
  });

  it.each([
    ["an empty query", { q: "  " }, "q"],
    ["a query over 500 characters", { q: "x".repeat(501) }, "q"],
    ["a limit over 50", { q: "x", limit: 51 }, "limit"],
    ["a limit that is not a number", { q: "x", limit: "ten" }, "limit"],
    ["an unknown parameter", { q: "x", tag: "y" }, ""],
    ["a control character", { q: "a\u0007b" }, "q"],
  ])("refuses %s", async (_, input, path) => {
    const err = await searchKnowledge(t.current.db, input as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZodError);
    expect((err as ZodError).issues[0]?.path.join(".")).toBe(path);
  });
});
