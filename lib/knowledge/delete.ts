// Deleting a knowledge entry by id; an unknown id is NOT_FOUND.
import { eq } from "drizzle-orm";
import { knowledge } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { knowledgeNotFound } from "./errors.ts";

export async function deleteKnowledge(db: AppDb, id: string): Promise<void> {
  const gone = await db.delete(knowledge).where(eq(knowledge.id, id)).returning({ id: knowledge.id });
  if (gone.length === 0) throw knowledgeNotFound(id);
}
