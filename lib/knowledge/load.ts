// Loading knowledge files (db/knowledge/*.md: front matter + markdown) idempotently by path: every
// file is validated first (all problems reported at once, nothing written on any), then ONE statement
// upserts them on `source_path`, touching only rows whose content changed. Entries loaded earlier
// from the same folder whose file is gone are reported, not deleted.
import { and, inArray, isNotNull, notInArray, sql } from "drizzle-orm";
import { z } from "zod";
import { knowledge } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError } from "../errors.ts";
import { newId } from "../ids.ts";
import { unknownProjectError } from "./errors.ts";
import { parseFrontMatter } from "./front-matter.ts";
import { KNOWLEDGE_KINDS, knowledgeInput } from "./input.ts";

export interface KnowledgeFile {
  /** Stable path, relative to the repository root (e.g. `db/knowledge/activation-checklist.md`). */
  path: string;
  source: string;
}

export interface LoadedEntry {
  path: string;
  id: string;
  title: string;
}

export interface LoadReport {
  added: LoadedEntry[];
  updated: LoadedEntry[];
  unchanged: LoadedEntry[];
  /** Entries loaded earlier from `folder` whose file no longer exists (kept; delete them by id). */
  orphaned: LoadedEntry[];
}

// A file must say what it is; the API's default kind ("note") does not apply.
const fileInput = knowledgeInput.extend({ kind: z.enum(KNOWLEDGE_KINDS) });

function parseFiles(files: KnowledgeFile[]) {
  const problems: string[] = [];
  const seen = new Set<string>();
  const parsed = [];
  for (const file of files) {
    if (seen.has(file.path)) {
      problems.push(`${file.path}: given twice`);
      continue;
    }
    seen.add(file.path);
    try {
      const { data, body } = parseFrontMatter(file.path, file.source);
      const result = fileInput.safeParse({ ...data, body });
      if (!result.success) {
        for (const i of result.error.issues) {
          const keys = "keys" in i && Array.isArray(i.keys) ? `.${(i.keys as string[]).join(",")}` : "";
          problems.push(`${file.path}: ${i.path.join(".") || "front matter"}${keys}: ${i.message}`);
        }
        continue;
      }
      parsed.push({ path: file.path, ...result.data });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      problems.push(err.message);
    }
  }
  if (problems.length > 0) {
    throw new DomainError("VALIDATION", `Nothing was loaded:\n  ${problems.join("\n  ")}`, {
      field: "files",
      details: { problems },
    });
  }
  return parsed;
}

export async function loadKnowledge(
  db: AppDb,
  files: KnowledgeFile[],
  opts: { folder?: string } = {},
): Promise<LoadReport> {
  const parsed = parseFiles(files);
  const report: LoadReport = { added: [], updated: [], unchanged: [], orphaned: [] };
  if (parsed.length > 0) {
    let changed: { id: string; path: string | null; inserted: boolean }[];
    try {
      changed = await db
        .insert(knowledge)
        .values(
          parsed.map((p) => ({
            id: newId("kn"),
            projectId: p.project ?? null,
            kind: p.kind,
            title: p.title,
            body: p.body,
            tags: p.tags,
            sourcePath: p.path,
          })),
        )
        .onConflictDoUpdate({
          target: knowledge.sourcePath,
          set: {
            projectId: sql`excluded.project_id`,
            kind: sql`excluded.kind`,
            title: sql`excluded.title`,
            body: sql`excluded.body`,
            tags: sql`excluded.tags`,
            updatedAt: sql`now()`,
          },
          // An unchanged file updates nothing, so updated_at keeps meaning "content last changed".
          setWhere: sql`(${knowledge.projectId}, ${knowledge.kind}, ${knowledge.title}, ${knowledge.body}, ${knowledge.tags})
            is distinct from (excluded.project_id, excluded.kind, excluded.title, excluded.body, excluded.tags)`,
        })
        // xmax is 0 on a freshly inserted row version and set on one written by the update branch.
        .returning({ id: knowledge.id, path: knowledge.sourcePath, inserted: sql<boolean>`(xmax = 0)` });
    } catch (err) {
      throw unknownProjectError(err, "files") ?? err;
    }
    const byPath = new Map(changed.map((c) => [c.path, c]));
    const unchangedPaths = parsed.filter((p) => !byPath.has(p.path)).map((p) => p.path);
    const ids = new Map<string, string>();
    if (unchangedPaths.length > 0) {
      const rows = await db
        .select({ id: knowledge.id, path: knowledge.sourcePath })
        .from(knowledge)
        .where(inArray(knowledge.sourcePath, unchangedPaths));
      for (const r of rows) if (r.path) ids.set(r.path, r.id);
    }
    for (const p of parsed) {
      const c = byPath.get(p.path);
      const entry = { path: p.path, id: c?.id ?? ids.get(p.path) ?? "?", title: p.title };
      if (!c) report.unchanged.push(entry);
      else if (c.inserted) report.added.push(entry);
      else report.updated.push(entry);
    }
  }
  if (opts.folder !== undefined) {
    const prefix = `${opts.folder.replace(/\/+$/, "")}/`;
    const paths = parsed.map((p) => p.path);
    const rows = await db
      .select({ id: knowledge.id, path: knowledge.sourcePath, title: knowledge.title })
      .from(knowledge)
      .where(
        and(
          isNotNull(knowledge.sourcePath),
          sql`starts_with(${knowledge.sourcePath}, ${prefix})`,
          paths.length > 0 ? notInArray(knowledge.sourcePath, paths) : undefined,
        ),
      )
      .orderBy(knowledge.sourcePath);
    report.orphaned = rows.map((r) => ({ path: r.path ?? "", id: r.id, title: r.title }));
  }
  return report;
}
