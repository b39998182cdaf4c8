// What a work run starts from, read once: whether this run still holds the task, the task and its
// project, the history the dossier shows (prior runs' summaries and deliverables, reviews, stamps,
// notes, refusals, and what the tasks it depends on — its subtasks — came to), and the top knowledge briefs for the task — then the dossier and the system
// prompt built from them. Everything from outside is fenced as data by lib/dossier.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { buildDossier, type DossierEntry, type DossierSource, dossierRule } from "../dossier/build.ts";
import { searchKnowledge } from "../knowledge/search.ts";
import { LEASE_MINUTES } from "../scheduler/lease.ts";
import { readSubtaskResults } from "./subtasks.ts";

export interface WorkContext {
  held: boolean;
  task: { id: string; title: string; projectId: string; dryRun: boolean; rubric: string[]; status: string };
  system: string;
  dossier: string;
  boundary: string;
}

const HISTORY_KINDS = [
  "note",
  "review",
  "stamp",
  "refusal",
  "worker_summary",
  "deliverable",
  "state_changed",
];
const SOURCE_OF: Record<string, DossierSource> = {
  note: "person",
  review: "reviewer",
  stamp: "person",
  refusal: "person",
  worker_summary: "model",
  deliverable: "model",
  state_changed: "person",
};

type Row = {
  id: string;
  title: string;
  description: string;
  project_id: string;
  dry_run: boolean;
  rubric: string[];
  status: string;
  current_run_id: string | null;
  history: { at: string; kind: string; actor: string; payload: Record<string, unknown> }[] | null;
};

/** Characters of an earlier deliverable the dossier shows (its start: the structure a review names). */
const DELIVERABLE_CHARS = 6_000;

const textOf = (kind: string, p: Record<string, unknown>): string => {
  if (kind === "state_changed") return `Moved ${p.from} → ${p.to}${p.reason ? `: ${p.reason}` : ""}`;
  if (kind === "deliverable" && typeof p.markdown === "string") {
    const cut = p.markdownCut === true ? "\n\n(… the rest is not shown)" : "";
    return `Version ${p.version} handed in (${p.hash}):\n\n${p.markdown}${cut}`;
  }
  const main = p.text ?? p.feedback ?? p.note ?? p.reason ?? p.summary;
  return typeof main === "string" ? main : JSON.stringify(p);
};

/**
 * Whether this run still holds its task (the task `working` on this run), read again before each
 * model turn and each tool call: a cancelled task, or one the watchdog handed to a newer run, makes
 * the run stop at its next step even if the engine has not stopped it yet — no tokens spent, no CRM
 * call made, never two runs working one task. A run that holds it renews its lease (the task's
 * expiry and its slot's, LEASE_MINUTES from now) in the same statement, so a run still working past
 * its first lease can still finish: the expiry marks a run that stopped stepping, not a long one.
 */
export async function renewHold(db: AppDb, input: { taskId: string; runId: string }): Promise<boolean> {
  const result = await db.execute(sql`
    with held as (
      update tasks set lease_expires_at = now() + make_interval(mins => ${LEASE_MINUTES})
       where id = ${input.taskId} and status = 'working' and current_run_id = ${input.runId}
      returning lease_expires_at
    ),
    slot as (
      update worker_leases set expires_at = (select lease_expires_at from held)
       where run_id = ${input.runId} and exists (select 1 from held)
    )
    select count(*)::int as n from held`);
  return (rowsOf<{ n: number }>(result)[0]?.n ?? 0) > 0;
}

/** Significant words of the title, for a search that matches briefs (the search ANDs its words). */
const queryWords = (title: string) =>
  title
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 3)
    .slice(0, 3);

export async function loadWorkContext(db: AppDb, input: { taskId: string; runId: string; workerId: string }) {
  const result = await db.execute(sql`
    select t.id, t.title, t.description, t.project_id, t.dry_run, t.rubric, t.status, t.current_run_id,
           (select jsonb_agg(jsonb_build_object('at', e.created_at, 'kind', e.kind, 'actor', e.actor, 'payload',
                               -- A handed-in version's event names it; the review that follows is about
                               -- its text, so the dossier carries the text (its start: the structure
                               -- a review names), and whether it was cut, counted where it is cut.
                               case when e.kind = 'deliverable'
                                    then e.payload || coalesce(
                                           (select jsonb_build_object('markdown', left(d.markdown, ${DELIVERABLE_CHARS}),
                                                                      'markdownCut', length(d.markdown) > ${DELIVERABLE_CHARS})
                                              from deliverables d where d.id = e.payload->>'deliverableId'),
                                           '{}'::jsonb)
                                    else e.payload end)
                             order by e.id)
              from task_events e
             where e.task_id = t.id and e.kind in (${sql.join(
               HISTORY_KINDS.map((k) => sql`${k}`),
               sql`, `,
             )})) as history
      from tasks t where t.id = ${input.taskId}`);
  const [row] = rowsOf<Row>(result);
  if (!row) return null;
  const held = row.status === "working" && row.current_run_id === input.runId;
  const history: DossierEntry[] = (row.history ?? []).map((h) => ({
    at: new Date(h.at).toISOString(),
    kind: h.kind.replace("_", " "),
    source: SOURCE_OF[h.kind] ?? "tool",
    author: h.actor,
    text: textOf(h.kind, h.payload),
  }));
  // What the tasks it depends on (its subtasks among them) came to: a resumed parent builds on them.
  for (const d of await readSubtaskResults(db, row.id)) {
    history.push({
      at: d.at,
      kind: "dependency result",
      source: "model",
      author: d.id,
      text: `Task "${d.title}" (${d.id}), which this task depends on, is ${d.status}.${d.markdown ? `\n\nIts deliverable:\n${d.markdown}` : ""}`,
    });
  }
  history.sort((a, b) => a.at.localeCompare(b.at));
  const words = queryWords(row.title);
  let briefs: { title: string; body: string }[] = [];
  for (let n = words.length; n > 0 && briefs.length === 0; n--) {
    const hits = await searchKnowledge(
      db,
      { q: words.slice(0, n).join(" "), project: row.project_id, limit: 3 },
      { withBody: true },
    );
    briefs = hits.map((h) => ({ title: h.title, body: (h as { body?: string }).body ?? "" }));
  }
  const dossier = buildDossier({
    task: { id: row.id, title: row.title, description: row.description, rubric: row.rubric },
    history,
    briefs,
  });
  const system = [
    `You are foreman's ${input.workerId} worker: you carry out CRM configuration tasks in HubSpot with the tools given.`,
    "Work step by step: read what you need, make the changes, tick the checklist with evidence, then call `submit` with a markdown deliverable and a structured result. If you need something only a person can provide, call `block` with the reason.",
    "Use only the tools listed. Never invent ids; read them first.",
    dossierRule(dossier.boundary),
  ].join("\n\n");
  return {
    held,
    task: {
      id: row.id,
      title: row.title,
      projectId: row.project_id,
      dryRun: row.dry_run,
      rubric: row.rubric,
      status: row.status,
    },
    system,
    dossier: dossier.markdown,
    boundary: dossier.boundary,
  } satisfies WorkContext;
}
