// deleteKnowledge: removes the entry (and only it); an unknown id is NOT_FOUND.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { knowledge } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { newId } from "../ids.ts";
import { addKnowledge } from "./add.ts";
import { deleteKnowledge } from "./delete.ts";

const t = useTestDb();

describe("deleteKnowledge", () => {
  it("deletes one entry, then reports it as not found", async () => {
    const a = await addKnowledge(t.current.db, { title: "a", body: "a" });
    const b = await addKnowledge(t.current.db, { title: "b", body: "b" });
    await deleteKnowledge(t.current.db, a.id);
    expect(await t.current.db.select().from(knowledge).where(eq(knowledge.id, a.id))).toEqual([]);
    expect(await t.current.db.select().from(knowledge).where(eq(knowledge.id, b.id))).toHaveLength(1);
    await expect(deleteKnowledge(t.current.db, a.id)).rejects.toMatchObject({
      code: "NOT_FOUND",
      field: "id",
      message: `Knowledge entry ${a.id} does not exist.`,
    });
  });

  it("reports an id that never existed as not found", async () => {
    await expect(deleteKnowledge(t.current.db, newId("kn"))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
