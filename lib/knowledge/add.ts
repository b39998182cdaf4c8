// Adding a knowledge entry (a brief, an SOP or a note), global or for one project. The project's
// existence is checked by its foreign key in the insert itself: a violation is a VALIDATION error
// naming `project`, and nothing is written.
import { knowledge } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { newId } from "../ids.ts";
import { unknownProjectError } from "./errors.ts";
import { knowledgeInput } from "./input.ts";
import { type KnowledgeRow, knowledgeColumns } from "./row.ts";

/** Throws the ZodError for invalid input (the HTTP edge names the field), DomainError otherwise. */
export async function addKnowledge(db: AppDb, raw: unknown): Promise<KnowledgeRow> {
  const input = knowledgeInput.parse(raw);
  try {
    const [row] = await db
      .insert(knowledge)
      .values({
        id: newId("kn"),
        projectId: input.project ?? null,
        kind: input.kind,
        title: input.title,
        body: input.body,
        tags: input.tags,
      })
      .returning(knowledgeColumns);
    if (!row) throw new Error("addKnowledge: the insert returned no row");
    return row;
  } catch (err) {
    throw unknownProjectError(err) ?? err;
  }
}
