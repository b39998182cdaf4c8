// The columns a knowledge entry is read with (everything but the tsvector), and its row type.
import { knowledge } from "../../db/schema/index.ts";

export const knowledgeColumns = {
  id: knowledge.id,
  projectId: knowledge.projectId,
  kind: knowledge.kind,
  title: knowledge.title,
  body: knowledge.body,
  tags: knowledge.tags,
  sourcePath: knowledge.sourcePath,
  createdAt: knowledge.createdAt,
  updatedAt: knowledge.updatedAt,
};

export type KnowledgeRow = Omit<typeof knowledge.$inferSelect, "search">;
