// The human stages' side effects, one function per step of the review function: announce the stage
// (the internal Slack card, or the client's signed link handed to the team in Slack), remind, escalate,
// give up at the deadline (`blocked_external`, reason "no stamp" — one guarded transition), and show
// the outcome on the card. Every Slack write goes through slackFor, so dry-run records the exact
// request as WOULD_DO; every reminder and escalation is a task event; a missing Slack or link key is
// said in the task's log, never skipped silently.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../deps.ts";
import { isDomainError } from "../errors.ts";
import { taskPageUrl } from "../links.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import {
  type CardInput,
  closedCard,
  type Decision,
  decidedCard,
  escalationText,
  escapeMrkdwn,
  reminderText,
  reviewCard,
} from "../slack/card.ts";
import type { SlackClient } from "../slack/client.ts";
import { slackFor } from "../slack/poster.ts";
import { mintClientLink } from "../stamps/links.ts";
import { STAGE_STATE, type StampStage } from "../states.ts";
import { TransitionConflictError } from "../tasks/errors.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { guards } from "../tasks/guards.ts";
import { transition } from "../tasks/transition.ts";
import {
  latestEntrySql,
  readStageEntry,
  type StageEntry,
  type StampOutcome,
  type StampWindow,
} from "./stamp-wait.ts";

export interface HumanDeps {
  config: Config;
  db: AppDb;
  slack: SlackClient | undefined;
  logger: Logger;
}

export interface StageRef {
  taskId: string;
  stage: StampStage;
  deliverableHash: string;
  /** The stage entry the run waits in; absent, the newest (readStampOutcome). */
  entered?: StageEntry | null;
}

const ACTOR = "foreman";
/**
 * The card's key: per version and entry into the internal stage (the client stage threads under the
 * newest), so a byte-identical resubmission gets a card of its own. Keys written before entries were
 * part of it end at the hash; they are still found.
 */
const cardBase = (ref: { taskId: string; deliverableHash: string }) =>
  `card:internal:${ref.taskId}:${ref.deliverableHash}`;
const cardKeySql = (ref: StageRef) => sql`${cardBase(ref)} || coalesce(
    ':' || (${ref.stage === "internal" ? (ref.entered?.eventId ?? null) : null}::bigint)::text,
    ':' || (select x.id::text from (${latestEntrySql(ref.taskId, "internal")}) x),
    '')`;

interface TaskFacts {
  card: CardInput;
  dryRun: boolean;
  projectId: string;
}

async function factsOf(deps: HumanDeps, ref: StageRef): Promise<TaskFacts> {
  const result = await deps.db.execute(sql`
    select t.title, t.dry_run, t.project_id, t.source, t.source_ref, t.revision_count,
           d.version,
           (select e.payload->>'text' from task_events e
             where e.task_id = t.id and e.kind = 'worker_summary' order by e.id desc limit 1) as summary,
           r.verdict, r.score, r.feedback
      from tasks t
      left join deliverables d on d.task_id = t.id and d.hash = ${ref.deliverableHash}
      left join lateral (
        select verdict, score, feedback from reviews
         where task_id = t.id and deliverable_hash = ${ref.deliverableHash}
         order by created_at desc limit 1
      ) r on true
     where t.id = ${ref.taskId}
     order by d.version desc nulls last limit 1`);
  const [r] = rowsOf<{
    title: string;
    dry_run: boolean;
    project_id: string;
    source: string;
    source_ref: string | null;
    revision_count: number;
    version: number | null;
    summary: string | null;
    verdict: "pass" | "fail" | null;
    score: number | null;
    feedback: string | null;
  }>(result);
  if (!r) throw new Error(`task ${ref.taskId} vanished during its review`);
  const base = deps.config.FOREMAN_PUBLIC_URL?.replace(/\/$/, "");
  const portal = deps.config.HUBSPOT_PORTAL_ID;
  return {
    dryRun: r.dry_run,
    projectId: r.project_id,
    card: {
      taskId: ref.taskId,
      title: r.title,
      deliverableHash: ref.deliverableHash,
      version: Number(r.version ?? 0),
      summary: r.summary,
      review:
        r.verdict && r.feedback !== null
          ? {
              verdict: r.verdict,
              score: Number(r.score ?? 0),
              feedback: r.feedback,
              revisions: Number(r.revision_count),
            }
          : null,
      links: {
        ...(base ? { output: taskPageUrl(base, ref.taskId) } : {}),
        ...(r.source === "hubspot" && r.source_ref && portal
          ? { crm: `https://app.hubspot.com/contacts/${portal}/record/0-5/${r.source_ref}` }
          : {}),
      },
    },
  };
}

interface PostedCard {
  channel: string;
  ts: string;
  recorded: "sent" | "would_do";
}

async function cardOf(db: AppDb, ref: StageRef): Promise<PostedCard | null> {
  const result = await db.execute(sql`
    select channel, ts, recorded from slack_messages
     where key in (${cardKeySql(ref)}, ${cardBase(ref)})
     order by key = ${cardBase(ref)} limit 1`);
  return rowsOf<PostedCard>(result)[0] ?? null;
}

/** A line in the task's log from the review's human stage (what people read on the board). */
export async function note(db: AppDb, taskId: string, text: string): Promise<void> {
  await appendEvents(db, [{ taskId, actor: ACTOR, kind: "note", payload: { text, author: ACTOR } }]);
}

const reviewChannel = (deps: HumanDeps): string =>
  deps.config.SLACK_REVIEW_CHANNEL ?? "(SLACK_REVIEW_CHANNEL is not set)";

/** The Slack writer for this task, or undefined after saying in the log why there is none. */
async function posterFor(deps: HumanDeps, ref: StageRef, facts: TaskFacts, what: string) {
  const s = slackFor(deps, { id: ref.taskId, dryRun: facts.dryRun }, ACTOR);
  if (s.mode === "would_do") return s.poster;
  if (s.mode === "unconfigured" || !deps.config.SLACK_REVIEW_CHANNEL) {
    await note(
      deps.db,
      ref.taskId,
      `Not posted to Slack (${what}): SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are not both set. Stamp through POST /api/tasks/${ref.taskId}/stamps.`,
    );
    return undefined;
  }
  return s.poster;
}

/**
 * A Slack write that no retry can fix (a missing channel, a revoked token) must not end the human
 * stage: people can still stamp through the API or the link. It is said in the task's log instead;
 * anything retryable is thrown for the step to retry.
 */
async function orNote<T>(
  deps: HumanDeps,
  ref: StageRef,
  what: string,
  write: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await write();
  } catch (err) {
    if (!isDomainError(err) || err.retryable) throw err;
    await note(
      deps.db,
      ref.taskId,
      `Slack refused ${what}: ${err.message} Stamp through POST /api/tasks/${ref.taskId}/stamps or the client link.`,
    );
    return undefined;
  }
}

/** Posts the internal review card once per deliverable version (a retried step finds it posted). */
export async function announceInternal(deps: HumanDeps, ref: StageRef): Promise<{ card: PostedCard | null }> {
  const existing = await cardOf(deps.db, ref);
  if (existing) return { card: existing };
  const facts = await factsOf(deps, ref);
  const poster = await posterFor(deps, ref, facts, "the review card");
  if (!poster) return { card: null };
  // The card names its round of review, so a click on it cannot decide a later round's stamp (the
  // very same bytes handed in again after a change request).
  const round =
    ref.entered?.eventId ??
    (await readStageEntry(deps.db, { taskId: ref.taskId, stage: "internal" }))?.eventId;
  const msg = reviewCard({ ...facts.card, round });
  const posted = await orNote(deps, ref, "the review card", () =>
    poster.postMessage({ channel: reviewChannel(deps), ...msg }),
  );
  if (!posted) return { card: null };
  const recorded = facts.dryRun || deps.config.FOREMAN_DRY_RUN ? "would_do" : "sent";
  await deps.db.execute(sql`
    insert into slack_messages (key, task_id, kind, channel, ts, deliverable_hash, recorded)
    values (${cardKeySql(ref)}, ${ref.taskId}, 'card', ${posted.channel}, ${posted.ts}, ${ref.deliverableHash}, ${recorded})
    on conflict (key) do nothing`);
  return { card: { ...posted, recorded } };
}

/**
 * Mints the client's link (the same token on a retry: the seed and time come from the step) and hands
 * it to the team in Slack, threaded under the internal card when there is one. The log records that a
 * link exists and until when — never the token itself.
 */
export async function announceClient(
  deps: HumanDeps,
  ref: StageRef,
  opts: { seed: string; now: Date },
): Promise<{ tokenId: string | null; expiresAt: string | null }> {
  if (!deps.config.STAMP_LINK_KEY) {
    await note(
      deps.db,
      ref.taskId,
      "No client link was sent: STAMP_LINK_KEY is not set. The client's stamp can come through the CRM ticket's stage or POST /api/tasks/:id/stamps.",
    );
    return { tokenId: null, expiresAt: null };
  }
  const facts = await factsOf(deps, ref);
  const link = await mintClientLink(deps.db, deps.config, {
    taskId: ref.taskId,
    deliverableHash: ref.deliverableHash,
    now: opts.now,
    seed: opts.seed,
  });
  const base = deps.config.FOREMAN_PUBLIC_URL?.replace(/\/$/, "") ?? "";
  const url = `${base}${link.path}`;
  const until = link.expiresAt.toISOString().slice(0, 10);
  const poster = await posterFor(deps, ref, facts, "the client link");
  if (poster) {
    const card = await cardOf(deps.db, ref);
    await orNote(deps, ref, "the client link message", () =>
      poster.postMessage({
        channel: card?.channel ?? reviewChannel(deps),
        ...(card ? { threadTs: card.ts } : {}),
        text: `Client review for *${escapeMrkdwn(facts.card.title)}* (version ${facts.card.version}): send the client this link — single use, valid until ${until}: <${url}|open the review page>${base ? "" : ` (FOREMAN_PUBLIC_URL is not set: prefix ${link.path} with this server's address)`}`,
      }),
    );
  }
  // Written once the hand-over is over (a Slack post that failed for good throws before this): a
  // resumed stage counts a link as issued only with this note, so a link whose post never went out is
  // minted and handed over again instead of waiting on a token nobody has.
  await appendEvents(
    deps.db,
    [
      {
        taskId: ref.taskId,
        actor: ACTOR,
        kind: "note",
        payload: {
          text: `Client review link issued (id ${link.tokenId}, single use, valid until ${until}).`,
          author: ACTOR,
          linkId: link.tokenId,
        },
      },
    ],
    { key: `client-link:${link.tokenId}` },
  );
  return { tokenId: link.tokenId, expiresAt: link.expiresAt.toISOString() };
}

async function slackIdsOf(
  db: AppDb,
  projectId: string,
  stage: StampStage,
  escalates: boolean,
): Promise<string[]> {
  const result = await db.execute(sql`
    select distinct slack_user_id from reviewers
     where kind = 'human' and active and slack_user_id is not null and escalates = ${escalates}
       and stage = ${escalates ? stage : "internal"}
       and (project_id is null or project_id = ${projectId})
     order by slack_user_id`);
  return rowsOf<{ slack_user_id: string }>(result).map((r) => `<@${r.slack_user_id}>`);
}

const hoursSince = (from: string, now: Date) => (now.getTime() - Date.parse(from)) / 3_600_000;

/** The nudge after the reminder delay: in the card's thread, naming the internal reviewers. */
export async function remind(deps: HumanDeps, ref: StageRef, w: StampWindow, now: Date): Promise<void> {
  const facts = await factsOf(deps, ref);
  const reviewers = await slackIdsOf(deps.db, facts.projectId, ref.stage, false);
  const poster = await posterFor(deps, ref, facts, "the reminder");
  if (poster) {
    const card = await cardOf(deps.db, ref);
    await orNote(deps, ref, "the reminder", () =>
      poster.postMessage({
        channel: card?.channel ?? reviewChannel(deps),
        ...(card ? { threadTs: card.ts } : {}),
        text: reminderText({
          title: facts.card.title,
          stage: ref.stage,
          waitingHours: hoursSince(w.startedAt, now),
          reviewers,
        }),
      }),
    );
  }
  await appendEvents(deps.db, [
    {
      taskId: ref.taskId,
      actor: ACTOR,
      kind: "reminder",
      payload: {
        to: reviewers.join(" ") || "the review channel",
        stage: ref.stage,
        waitedHours: Math.round(hoursSince(w.startedAt, now)),
      },
    },
  ]);
}

/** After the escalation delay: the project's escalation reviewers are named, in the channel itself. */
export async function escalate(deps: HumanDeps, ref: StageRef, w: StampWindow, now: Date): Promise<void> {
  const facts = await factsOf(deps, ref);
  const to = await slackIdsOf(deps.db, facts.projectId, ref.stage, true);
  const poster = await posterFor(deps, ref, facts, "the escalation");
  if (poster) {
    await orNote(deps, ref, "the escalation", () =>
      poster.postMessage({
        channel: reviewChannel(deps),
        text: escalationText({
          title: facts.card.title,
          stage: ref.stage,
          waitingHours: hoursSince(w.startedAt, now),
          to,
          deadline: w.deadline,
        }),
      }),
    );
  }
  await appendEvents(deps.db, [
    {
      taskId: ref.taskId,
      actor: ACTOR,
      kind: "escalation",
      payload: {
        to: to.join(" ") || "nobody listed (no escalation reviewer for this project)",
        stage: ref.stage,
        deadline: w.deadline,
      },
    },
  ]);
}

/**
 * A reminder or escalation Slack did not take past the step's retries. The milestone is still on
 * record (posted: false), beside a note saying why: the stage went past it, and the watchdog must not
 * take the wait for lost (it would start a second run, which would try again and again). ONE statement.
 */
export async function milestoneNotPosted(
  db: AppDb,
  ref: StageRef,
  milestone: "reminder" | "escalation",
  why: string,
): Promise<void> {
  const reason = why.slice(0, 300);
  await appendEvents(db, [
    {
      taskId: ref.taskId,
      actor: ACTOR,
      kind: "note",
      payload: {
        text: `Could not post the ${milestone} to Slack after retrying (${reason}); the stage goes on.`,
        author: ACTOR,
      },
    },
    {
      taskId: ref.taskId,
      actor: ACTOR,
      kind: milestone,
      payload: { to: "nobody: Slack did not take it", stage: ref.stage, posted: false, why: reason },
    },
  ]);
}

/**
 * The final deadline: the task is set aside as blocked_external, reason "no stamp" — unless a decision
 * landed first, in which case nothing moves and the caller re-reads the outcome.
 */
export async function expire(
  deps: HumanDeps,
  ref: StageRef,
  key: string,
): Promise<{ moved: boolean; outbox: OutboxMessage[] }> {
  try {
    const moved = await transition(deps.db, {
      taskId: ref.taskId,
      from: STAGE_STATE[ref.stage],
      to: "blocked_external",
      key,
      guards: [guards.deliverableCurrent(ref.deliverableHash)],
      reason: `no stamp: the ${ref.stage} review was not decided before its deadline`,
      actor: ACTOR,
    });
    return { moved: true, outbox: moved.outbox };
  } catch (err) {
    if (err instanceof TransitionConflictError) return { moved: false, outbox: [] };
    if (isDomainError(err) && err.code === "CONFLICT") return { moved: false, outbox: [] };
    throw err;
  }
}

/** Who decided, the way Slack should show them. */
const shown = (o: Extract<StampOutcome, { kind: "decided" }>): Decision => ({
  decision: o.decision,
  by: o.channel === "slack" ? `<@${o.actor}>` : o.actor,
  via: o.channel,
  at: `${o.at.replace("T", " ").slice(0, 16)} UTC`,
  ...(o.note ? { note: o.note } : {}),
});

/**
 * Replaces the internal card's buttons with the outcome (who, what, when; or why the wait ended).
 * Called by the Slack endpoint right after a click and by the review function when it sees the
 * outcome: both write the same card, so whichever comes second changes nothing.
 */
export async function settleCard(deps: HumanDeps, ref: StageRef, outcome: StampOutcome): Promise<boolean> {
  if (outcome.kind === "waiting") return false;
  const card = await cardOf(deps.db, ref);
  if (!card) return false;
  const facts = await factsOf(deps, ref);
  const s = slackFor(deps, { id: ref.taskId, dryRun: facts.dryRun || card.recorded === "would_do" }, ACTOR);
  if (!s.poster) return false;
  const msg =
    outcome.kind === "decided"
      ? decidedCard(facts.card, shown(outcome))
      : closedCard(
          facts.card,
          outcome.status === "blocked_external"
            ? "No stamp before the deadline: set aside as blocked"
            : `This version is no longer awaiting a stamp (the task is ${outcome.status.replaceAll("_", " ")})`,
        );
  const poster = s.poster;
  const done = await orNote(deps, ref, "the card update", () =>
    poster.updateMessage({ channel: card.channel, ts: card.ts, ...msg }).then(() => true),
  );
  return done === true;
}
