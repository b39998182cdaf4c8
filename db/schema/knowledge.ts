// Knowledge: briefs and SOPs the worker's dossier retrieves, full-text indexed.
import { sql } from "drizzle-orm";
import { customType, index, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, idColumn, updatedAt } from "./columns.ts";
import { projects } from "./projects.ts";

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

export const knowledge = pgTable(
  "knowledge",
  {
    id: idColumn(),
    projectId: text("project_id").references(() => projects.id),
    kind: text("kind", { enum: ["brief", "sop", "note"] }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    search: tsvector("search").notNull().generatedAlwaysAs(sql`to_tsvector('english', title || ' ' || body)`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("knowledge_search_idx").using("gin", t.search),
    index("knowledge_project_idx").on(t.projectId),
  ],
);
