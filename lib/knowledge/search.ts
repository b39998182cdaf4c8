// Ranked full-text search over knowledge: THE query the worker's dossier retrieves briefs and SOPs
// with, and what GET /api/knowledge answers. `q` is web-search syntax (websearch_to_tsquery: words are
// ANDed, "quoted phrases", `or`, -excluded); ranking is ts_rank over the weighted vector (title A,
// tags B, body D), so the entry whose title and tags name the subject comes before those that only
// mention it.
// Global entries are always candidates; with `project`, that project's own entries too, never
// another project's.
import { and, asc, desc, eq, isNull, or, sql } from "drizzle-orm";
import { z } from "zod";
import { knowledge } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { text } from "../text.ts";
import { KNOWLEDGE_LIMITS, type KnowledgeKind, projectRef } from "./input.ts";

export const searchKnowledgeInput = z.strictObject({
  q: text({ min: 1, max: KNOWLEDGE_LIMITS.query, trim: true, minMessage: "must not be empty" }),
  project: projectRef.optional(),
  limit: z.coerce.number().int().min(1).max(KNOWLEDGE_LIMITS.results).default(10),
});
export type SearchKnowledgeInput = z.input<typeof searchKnowledgeInput>;

export interface KnowledgeHit {
  id: string;
  projectId: string | null;
  kind: KnowledgeKind;
  title: string;
  tags: string[];
  sourcePath: string | null;
  /** ts_rank: higher is more relevant; comparable within one result list only. */
  rank: number;
  /** The best passage of the body with the matched words in **bold** (ts_headline). */
  snippet: string;
  /** The full markdown body with `withBody` (the dossier), else null (listings). */
  body: string | null;
  updatedAt: Date;
}

export interface SearchOptions {
  withBody?: boolean;
}

const HEADLINE = "MaxFragments=2, MaxWords=30, MinWords=12, FragmentDelimiter=' … ', StartSel=**, StopSel=**";

/** Best first; ties by id. Invalid input throws the ZodError. */
export async function searchKnowledge(
  db: AppDb,
  raw: SearchKnowledgeInput,
  opts: SearchOptions = {},
): Promise<KnowledgeHit[]> {
  const input = searchKnowledgeInput.parse(raw);
  const query = sql`websearch_to_tsquery('english', ${input.q})`;
  // Two ranks added: ts_rank of the query itself rewards the words appearing close together; ts_rank
  // of its OR form rewards each word by the best place it appears (title, then tags, then body). The
  // first alone saturates near 1 on long documents, so it cannot tell a brief from one that mentions it.
  const anyWord = sql`replace(${query}::text, ' & ', ' | ')::tsquery`;
  const rank = sql<number>`(ts_rank(${knowledge.search}, ${query}) + ts_rank(${knowledge.search}, ${anyWord}))::float8`;
  const scope = input.project
    ? or(isNull(knowledge.projectId), eq(knowledge.projectId, input.project))
    : isNull(knowledge.projectId);
  // Rank and cut first; ts_headline (which re-parses the body) runs only on the rows returned.
  const hits = db
    .select({
      id: knowledge.id,
      projectId: knowledge.projectId,
      kind: knowledge.kind,
      title: knowledge.title,
      tags: knowledge.tags,
      sourcePath: knowledge.sourcePath,
      body: knowledge.body,
      updatedAt: knowledge.updatedAt,
      rank: rank.as("rank"),
    })
    .from(knowledge)
    .where(and(sql`${knowledge.search} @@ ${query}`, scope))
    .orderBy(desc(rank), asc(knowledge.id))
    .limit(input.limit)
    .as("hits");
  const rows = await db
    .select({
      id: hits.id,
      projectId: hits.projectId,
      kind: hits.kind,
      title: hits.title,
      tags: hits.tags,
      sourcePath: hits.sourcePath,
      updatedAt: hits.updatedAt,
      rank: hits.rank,
      snippet: sql<string>`ts_headline('english', ${hits.body}, websearch_to_tsquery('english', ${input.q}), ${HEADLINE})`,
      body: opts.withBody ? hits.body : sql<null>`null`,
    })
    .from(hits)
    .orderBy(desc(hits.rank), asc(hits.id));
  return rows.map((r) => ({ ...r, rank: Number(r.rank), updatedAt: new Date(r.updatedAt) }));
}
