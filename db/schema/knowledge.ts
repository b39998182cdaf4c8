// Knowledge: briefs and SOPs the worker's dossier retrieves, full-text indexed. `search` weights the
// title (A) over the tags (B) over the body (D), so a query naming a brief's subject finds that brief
// before the ones that merely mention it. `source_path` is set for entries loaded from db/knowledge/
// (`npm run knowledge:load` upserts on it); entries added through the API have none.
import { sql } from "drizzle-orm";
import { customType, index, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn, updatedAt } from "./columns.ts";
import { projects } from "./projects.ts";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const KNOWLEDGE_KINDS = ["brief", "sop", "note"] as const;

export const knowledge = pgTable(
  "knowledge",
  {
    id: idColumn(),
    /** null = global: retrieved for every project. */
    projectId: text("project_id").references(() => projects.id),
    kind: text("kind", { enum: KNOWLEDGE_KINDS }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    tags: jsonb("tags").$type<string[]>().notNull().default([]),
    sourcePath: text("source_path").unique("knowledge_source_path_uq"),
    // jsonb_to_tsvector(regconfig, …) is immutable, as a generated column needs (array_to_string is not).
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english', title), 'A') || setweight(jsonb_to_tsvector('english', tags, '["string"]'), 'B') || setweight(to_tsvector('english', body), 'D')`,
      ),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("knowledge_search_idx").using("gin", t.search),
    index("knowledge_project_idx").on(t.projectId),
  ],
);
