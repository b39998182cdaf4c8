// The knowledge API: add a brief, SOP or note (global or for one project), search them ranked (the
// query the worker's dossier uses), delete one. Bearer auth and the body limit come from app.ts.
import { Hono } from "hono";
import { ZodError } from "zod";
import { DomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { addKnowledge } from "../../lib/knowledge/add.ts";
import { deleteKnowledge } from "../../lib/knowledge/delete.ts";
import type { KnowledgeRow } from "../../lib/knowledge/row.ts";
import { type KnowledgeHit, searchKnowledge, searchKnowledgeInput } from "../../lib/knowledge/search.ts";
import type { AppEnv } from "../env.ts";
import { zodErrorResponse } from "../errors.ts";
import { readJson } from "../json-body.ts";

const presentEntry = (k: KnowledgeRow) => ({
  id: k.id,
  kind: k.kind,
  title: k.title,
  body: k.body,
  project: k.projectId,
  tags: k.tags,
  source_path: k.sourcePath,
  created_at: k.createdAt.toISOString(),
  updated_at: k.updatedAt.toISOString(),
});

const presentHit = (h: KnowledgeHit) => ({
  id: h.id,
  kind: h.kind,
  title: h.title,
  project: h.projectId,
  tags: h.tags,
  source_path: h.sourcePath,
  rank: h.rank,
  snippet: h.snippet,
  updated_at: h.updatedAt.toISOString(),
});

export const knowledgeRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const entry = await addKnowledge(c.get("deps").db, await readJson(c.req.raw));
    return c.json({ knowledge: presentEntry(entry) }, 201);
  })
  .get("/", async (c) => {
    try {
      const hits = await searchKnowledge(c.get("deps").db, searchKnowledgeInput.parse(c.req.query()));
      return c.json({ results: hits.map(presentHit) });
    } catch (err) {
      if (err instanceof ZodError) return zodErrorResponse(c, err, "query.");
      throw err;
    }
  })
  .delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id) || !id.startsWith("kn_")) {
      throw new DomainError("NOT_FOUND", `Knowledge entry ${id} does not exist.`, { field: "id" });
    }
    await deleteKnowledge(c.get("deps").db, id);
    return c.body(null, 204);
  });
