// The review's reads and writes around the model call: what to review (one query), the verdict from
// the local model (one repair attempt for malformed output; an unavailable model is retryable, never
// a pass), the `reviews` row with its event (one statement, unique per deliverable version), and the
// move that follows (one guarded transition: the deliverable must still be current).
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError, isDomainError } from "../errors.ts";
import { taskRevisionRequested } from "../events.ts";
import { stableId } from "../ids.ts";
import { addSpent, addSpentOf, type LocalModel, withRepair, withSpent } from "../llm/local.ts";
import { guards } from "../tasks/guards.ts";
import { type TransitionResult, transition } from "../tasks/transition.ts";
import {
  decide,
  normalise,
  type ReviewVerdict,
  type Rubric,
  reviewMaxTokens,
  reviewPrompt,
  reviewVerdict,
  rubricFor,
  unscored,
} from "./rubric.ts";

export interface ReviewSubject {
  taskId: string;
  title: string;
  status: string;
  revisionCount: number;
  internalStampRequired: boolean;
  projectId: string;
  deliverable: { id: string; version: number; hash: string; markdown: string; result: unknown };
  rubric: Rubric;
  current: boolean;
}

type Row = {
  id: string;
  title: string;
  status: string;
  revision_count: number;
  requires_internal_stamp: boolean | null;
  project_id: string;
  project_requires: boolean;
  rubric: string[];
  rubric_defaults: string[];
  deliverable_hash: string | null;
  d_id: string | null;
  d_version: number | null;
  d_hash: string | null;
  d_markdown: string | null;
  d_result: unknown;
};

export async function loadReviewSubject(
  db: AppDb,
  taskId: string,
  deliverableId: string,
): Promise<ReviewSubject | null> {
  const result = await db.execute(sql`
    select t.id, t.title, t.status, t.revision_count, t.requires_internal_stamp, t.project_id,
           p.requires_internal_stamp as project_requires, t.rubric, p.rubric_defaults, t.deliverable_hash,
           d.id as d_id, d.version as d_version, d.hash as d_hash, d.markdown as d_markdown, d.result as d_result
      from tasks t join projects p on p.id = t.project_id
      left join deliverables d on d.id = ${deliverableId} and d.task_id = t.id
     where t.id = ${taskId}`);
  const [r] = rowsOf<Row>(result);
  if (!r?.d_id) return null;
  return {
    taskId: r.id,
    title: r.title,
    status: r.status,
    revisionCount: Number(r.revision_count),
    // The project's requirement is a floor: a task can add a stamp (triage, API), never waive it.
    internalStampRequired: r.project_requires || r.requires_internal_stamp === true,
    projectId: r.project_id,
    deliverable: {
      id: r.d_id,
      version: Number(r.d_version),
      hash: r.d_hash as string,
      markdown: r.d_markdown as string,
      result: r.d_result,
    },
    rubric: rubricFor({ rubric: r.rubric }, { rubricDefaults: r.rubric_defaults }),
    current: r.status === "working" && r.deliverable_hash === r.d_hash,
  };
}

export interface ModelVerdict {
  verdict: ReviewVerdict;
  model: string;
  /** Which tier answered: the local reviewer, or the overflow tier as the configured fallback. */
  tier: "local" | "overflow";
  usage: { input: number; output: number };
  latencyMs: number;
  attempts: number;
}

/** True when the reviewer could not be asked at all (down, busy, absent) — not when it answered badly. */
export const reviewerUnavailable = (err: unknown): boolean =>
  isDomainError(err) &&
  ["UNAVAILABLE", "UPSTREAM", "RATE_LIMITED"].includes(err.code) &&
  !err.message.includes("malformed");

/**
 * The pause before retry `attempt` (0-based) of a reviewer that is down: doubling pauses whose sum
 * over `retries` retries is the whole window, so the window is a setting, not an accident of the
 * engine's backoff. A Retry-After the bridge gave is honoured when it asks for longer.
 */
export function reviewRetryDelayMs(attempt: number, retries: number, windowMs: number): number {
  const share = 2 ** Math.min(attempt, retries - 1) / (2 ** retries - 1);
  return Math.max(1000, Math.round(windowMs * share));
}

/**
 * What a failed call to the local reviewer leads to: a retry after its share of the window (while
 * retries are left), the fallback tier (on the last try, when one is configured), or the error
 * itself — which on the last try parks the review. Malformed answers keep their own retry path.
 */
export function afterReviewerFailure(
  err: unknown,
  opts: { attempt: number; retries: number; windowMs: number; fallback: boolean },
): { next: "fallback" } | { next: "throw"; error: unknown } {
  if (!reviewerUnavailable(err)) return { next: "throw", error: err };
  if (opts.attempt >= opts.retries)
    return opts.fallback ? { next: "fallback" } : { next: "throw", error: err };
  const e = err as DomainError;
  const pause = reviewRetryDelayMs(opts.attempt, opts.retries, opts.windowMs);
  return {
    next: "throw",
    error: new DomainError(e.code, e.message, {
      retryable: true,
      retryAfterMs: Math.max(pause, e.retryAfterMs ?? 0),
      cause: err,
    }),
  };
}

/** Asks the local model; one repair for malformed output. Throws (retryably) when it cannot answer. */
export async function reviewWithModel(
  local: LocalModel | undefined,
  subject: ReviewSubject,
  boundary: string,
  tier: ModelVerdict["tier"] = "local",
): Promise<ModelVerdict> {
  if (!local) {
    throw new DomainError(
      "UNAVAILABLE",
      "No local reviewer model is configured (BRIDGE_URL); the review waits.",
      {
        retryable: true,
      },
    );
  }
  const messages = reviewPrompt({
    title: subject.title,
    rubric: subject.rubric,
    markdown: subject.deliverable.markdown,
    result: subject.deliverable.result,
    boundary,
  });
  const started = Date.now();
  let problem = "";
  const usage = { input: 0, output: 0 };
  let model: string | undefined;
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await local.chat({
        messages: withRepair(messages, problem),
        jsonSchema: { name: "review", schema: reviewVerdict },
        temperature: 0,
        maxTokens: reviewMaxTokens(subject.rubric),
      });
      addSpent(usage, res.usage);
      model = res.model;
      // Part of the rubric left unscored is an incomplete answer, repaired like a malformed one: it
      // must not pass the work (a single "overall" criterion would), nor fail it for the reviewer's lapse.
      const gap = unscored(res.json, subject.rubric);
      if (gap) {
        problem = gap;
        continue;
      }
      return {
        verdict: normalise(res.json, subject.rubric),
        model: res.model,
        tier,
        usage,
        latencyMs: Date.now() - started,
        attempts: attempt,
      };
    } catch (err) {
      if (isDomainError(err) && err.code === "VALIDATION") {
        // A malformed answer was still computed: its tokens count.
        model = addSpentOf(usage, err) ?? model;
        problem = err.message.slice(0, 300);
        continue;
      }
      throw withSpent(err, model, usage);
    }
  }
  // Malformed twice: retry the step later rather than guess a verdict — its tokens still count.
  throw new DomainError("UPSTREAM", `The reviewer's output was malformed twice: ${problem}`, {
    retryable: true,
    details: { reason: "malformed", ...(model ? { spent: { model, usage } } : {}) },
  });
}

/** The `reviews` row and its event, once per deliverable version (a retried step writes nothing more). */
export async function recordReview(
  db: AppDb,
  subject: ReviewSubject,
  v: ModelVerdict,
  key: string,
): Promise<string> {
  const id = stableId("rev", key);
  await db.execute(sql`
    with ins as (
      insert into reviews (id, task_id, revision, verdict, score, feedback, criteria, model, deliverable_hash,
                           tokens_in, tokens_out, latency_ms)
      values (${id}, ${subject.taskId}, ${subject.deliverable.version}, ${v.verdict.verdict}, ${v.verdict.score},
              ${v.verdict.feedback}, ${toJsonb(v.verdict.criteria)}::jsonb, ${v.model}, ${subject.deliverable.hash},
              ${v.usage.input}, ${v.usage.output}, ${v.latencyMs})
      on conflict (task_id, revision) do nothing
      returning id
    ),
    ev as (
      insert into task_events (task_id, kind, payload, actor)
      select ${subject.taskId}, 'review',
             jsonb_build_object('verdict', ${v.verdict.verdict}::text, 'score', ${v.verdict.score}::real,
                                'feedback', ${v.verdict.feedback}::text, 'reviewId', ins.id,
                                'version', ${subject.deliverable.version}::int, 'model', ${v.model}::text,
                                'criteria', ${toJsonb(v.verdict.criteria)}::jsonb,
                                'tier', ${v.tier}::text),
             ${v.tier === "local" ? "reviewer:local" : "reviewer:overflow"}
        from ins
    )
    select 1`);
  return id;
}

/** Moves the task as the verdict says, while the reviewed deliverable is still the current one. */
export async function applyVerdict(
  db: AppDb,
  subject: ReviewSubject,
  v: ReviewVerdict,
  key: string,
): Promise<TransitionResult> {
  const d = decide(v.verdict, subject.revisionCount, subject.internalStampRequired);
  return transition(db, {
    taskId: subject.taskId,
    from: "working",
    to: d.to,
    key,
    guards: [
      guards.deliverableCurrent(subject.deliverable.hash),
      ...(d.revise ? [guards.revisionUnderCap(2)] : []),
    ],
    ...(d.revise ? { set: { revisionCount: "increment" as const, currentRunId: null } } : {}),
    reason: `${d.why}${v.verdict === "fail" ? `: ${v.feedback.slice(0, 300)}` : ""}`,
    actor: "reviewer:local",
    ...(d.revise
      ? {
          emit: [
            taskRevisionRequested.create(
              {
                taskId: subject.taskId,
                revision: subject.revisionCount + 1,
                feedback: v.feedback.slice(0, 4000),
              },
              { id: `revision-requested:${subject.taskId}:${subject.revisionCount + 1}` },
            ),
          ],
        }
      : {}),
  });
}
