// addKnowledge: global and project entries, defaults, the size limits (each naming its field and
// limit) and the project foreign key as a VALIDATION error on `project` — refused input writes nothing.
import { count, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { knowledge, projects } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { DomainError } from "../errors.ts";
import { ID_PATTERN, newId } from "../ids.ts";
import { addKnowledge } from "./add.ts";
import { KNOWLEDGE_LIMITS } from "./input.ts";

const t = useTestDb();
let project: string;
beforeAll(async () => {
  project = newId("proj");
  await t.current.db.insert(projects).values({ id: project, name: `add-test ${project}` });
});

const rows = async () => (await t.current.db.select({ n: count() }).from(knowledge))[0]?.n ?? 0;

const zodIssue = async (input: unknown) => {
  const err = await addKnowledge(t.current.db, input).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ZodError);
  const issue = (err as ZodError).issues[0];
  return {
    path: issue?.path.join("."),
    message: issue?.message ?? "",
    count: (err as ZodError).issues.length,
  };
};

describe("addKnowledge", () => {
  it("adds a global note by default, trimmed, tags deduplicated", async () => {
    const row = await addKnowledge(t.current.db, {
      title: "  Inbox routing  ",
      body: "Route support@ to the Support team.\n",
      tags: ["inbox", "routing", "inbox"],
    });
    expect(row).toMatchObject({
      title: "Inbox routing",
      kind: "note",
      projectId: null,
      tags: ["inbox", "routing"],
      sourcePath: null,
      body: "Route support@ to the Support team.\n",
    });
    expect(row.id).toMatch(ID_PATTERN);
    expect(row.id.startsWith("kn_")).toBe(true);
    const [stored] = await t.current.db.select().from(knowledge).where(eq(knowledge.id, row.id));
    expect(stored?.search).toContain("rout");
  });

  it("adds a brief for a project", async () => {
    const row = await addKnowledge(t.current.db, {
      title: "Client brief",
      body: "b",
      kind: "brief",
      project,
    });
    expect(row).toMatchObject({ projectId: project, kind: "brief", tags: [] });
  });

  it("accepts a body of exactly 100 KB and the maximum title and tags", async () => {
    const row = await addKnowledge(t.current.db, {
      title: "t".repeat(KNOWLEDGE_LIMITS.title),
      body: "b".repeat(KNOWLEDGE_LIMITS.bodyBytes),
      tags: Array.from({ length: KNOWLEDGE_LIMITS.tags }, (_, i) => `${i}`.padEnd(KNOWLEDGE_LIMITS.tag, "x")),
    });
    expect(row.body).toHaveLength(102_400);
  });

  it.each([
    ["a title over 200 characters", { title: "t".repeat(201), body: "b" }, "title", /200/],
    ["an empty title", { title: "   ", body: "b" }, "title", /must not be empty/],
    ["a body over 100 KB", { title: "t", body: "b".repeat(102_401) }, "body", /102400/],
    // 34,134 three-byte characters: 102,402 bytes in fewer than 102,400 UTF-16 units.
    [
      "a body over 100 KB of UTF-8",
      { title: "t", body: "€".repeat(34_134) },
      "body",
      /102400 bytes \(100 KB\)/,
    ],
    ["a blank body", { title: "t", body: " \n " }, "body", /must not be blank/],
    ["21 tags", { title: "t", body: "b", tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags", /20/],
    ["a tag over 40 characters", { title: "t", body: "b", tags: ["ok", "x".repeat(41)] }, "tags.1", /40/],
    ["an unknown kind", { title: "t", body: "b", kind: "memo" }, "kind", /brief|sop|note/],
    ["a NUL in the body", { title: "t", body: "a\u0000b" }, "body", /NUL/],
    ["a line break in the title", { title: "a\nb", body: "b" }, "title", /single line/],
    ["a bidi override in a tag", { title: "t", body: "b", tags: ["a\u202eb"] }, "tags.0", /bidirectional/],
  ])("refuses %s, naming the field and the limit, and writes nothing", async (_, input, path, message) => {
    const before = await rows();
    const issue = await zodIssue(input);
    expect(issue.path).toBe(path);
    expect(issue.message).toMatch(message);
    expect(issue.count).toBe(1);
    expect(await rows()).toBe(before);
  });

  it("refuses unknown fields", async () => {
    expect(await zodIssue({ title: "t", body: "b", source_path: "x" })).toMatchObject({ path: "" });
  });

  it("refuses an unknown project as a VALIDATION error naming project, and writes nothing", async () => {
    const before = await rows();
    const err = await addKnowledge(t.current.db, { title: "t", body: "b", project: "proj_nope" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({
      code: "VALIDATION",
      field: "project",
      message: "Project 'proj_nope' does not exist.",
    });
    expect(await rows()).toBe(before);
  });
});
