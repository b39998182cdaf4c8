// A notice about one task, in that task's one Slack thread. The anchor is the newest internal review
// card when the task has one (the people who stamp it read there), else the task's own thread root
// (`thread:<taskId>` in slack_messages), else this notice becomes the root. Each notice has its own
// key in slack_messages, read first, so a retried step finds what it posted instead of posting twice
// (the window between Slack's answer and the insert is the one place a crash can still repeat it).
// Two first notices for one task at the same instant could each start a root; a task's moves are
// serial and its human-needed ones minutes apart, so notify takes no per-task concurrency key (the
// scheduler's and budget's events carry no task id to key on).
// Dry-run goes through slackFor: the exact request is a WOULD_DO event and nothing reaches Slack.
// Without SLACK_BOT_TOKEN / SLACK_REVIEW_CHANNEL outside dry-run, the task's log says so; so it does
// when Slack refuses in a way no retry fixes (a missing channel, a revoked token) — a retryable
// failure is thrown for the step to retry.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import type { Logger } from "../deps.ts";
import { isDomainError } from "../errors.ts";
import { taskPageUrl } from "../links.ts";
import type { SlackClient } from "../slack/client.ts";
import { slackFor } from "../slack/poster.ts";
import { appendEvents } from "../tasks/event-log.ts";
import type { SlackText, TaskRef } from "./blocks.ts";

export interface NotifyDeps {
  config: Config;
  db: AppDb;
  slack: SlackClient | undefined;
  logger: Logger;
}

export const NOTIFY_ACTOR = "fn:notify";

type Recorded = "sent" | "would_do";

export interface PostedNotice {
  posted: Recorded | "already" | "unconfigured" | "refused";
  channel?: string;
  ts?: string;
  /** The message it was threaded under (absent for a new root). */
  threadTs?: string;
}

interface Message {
  channel: string;
  ts: string;
  recorded: Recorded;
}

export interface NoticeTask {
  id: string;
  title: string;
  dryRun: boolean;
}

/** The task as a notice names it; undefined for an unknown task. */
export async function noticeTaskOf(
  deps: Pick<NotifyDeps, "config" | "db">,
  taskId: string,
): Promise<(NoticeTask & { ref: TaskRef; status: string; lastMoveId: number | null }) | undefined> {
  const result = await deps.db.execute(sql`
    select t.id, t.title, t.dry_run, t.status,
           (select max(e.id) from task_events e where e.task_id = t.id and e.kind = 'state_changed') as last_move
      from tasks t where t.id = ${taskId}`);
  const row = rowsOf<{
    id: string;
    title: string;
    dry_run: boolean;
    status: string;
    last_move: string | number | null;
  }>(result)[0];
  if (!row) return undefined;
  const base = deps.config.FOREMAN_PUBLIC_URL?.replace(/\/$/, "");
  return {
    id: row.id,
    title: row.title,
    dryRun: row.dry_run,
    status: row.status,
    lastMoveId: row.last_move === null ? null : Number(row.last_move),
    ref: { taskId: row.id, title: row.title, ...(base ? { url: taskPageUrl(base, row.id) } : {}) },
  };
}

/** Where the task's notices go: its newest review card, else its thread root — posted the same way. */
async function anchorOf(db: AppDb, taskId: string, recorded: Recorded): Promise<Message | undefined> {
  const result = await db.execute(sql`
    select channel, ts, recorded from slack_messages
     where task_id = ${taskId} and recorded = ${recorded}
       and (key = ${`thread:${taskId}`} or (kind = 'card' and key like ${`card:internal:${taskId}:%`}))
     order by (kind = 'card') desc, created_at desc
     limit 1`);
  return rowsOf<Message>(result)[0];
}

export async function postTaskNotice(
  deps: NotifyDeps,
  input: { task: NoticeTask; key: string; what: string; message: SlackText },
): Promise<PostedNotice> {
  const { task, key } = input;
  const already = rowsOf<Message>(
    await deps.db.execute(sql`select channel, ts, recorded from slack_messages where key = ${key}`),
  )[0];
  if (already) return { posted: "already", channel: already.channel, ts: already.ts };

  const s = slackFor(deps, { id: task.id, dryRun: task.dryRun }, NOTIFY_ACTOR);
  if (s.mode === "unconfigured" || (s.mode === "live" && !deps.config.SLACK_REVIEW_CHANNEL)) {
    await note(
      deps.db,
      task.id,
      `Not posted to Slack (${input.what}): SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are not both set.`,
    );
    return { posted: "unconfigured" };
  }
  const recorded: Recorded = s.mode === "would_do" ? "would_do" : "sent";
  const anchor = await anchorOf(deps.db, task.id, recorded);
  const channel = anchor?.channel ?? deps.config.SLACK_REVIEW_CHANNEL ?? "(SLACK_REVIEW_CHANNEL is not set)";
  let posted: { channel: string; ts: string };
  try {
    posted = await s.poster.postMessage({
      channel,
      ...input.message,
      ...(anchor ? { threadTs: anchor.ts } : {}),
    });
  } catch (err) {
    if (!isDomainError(err) || err.retryable) throw err;
    await note(deps.db, task.id, `Slack refused ${input.what}: ${err.message}`);
    return { posted: "refused" };
  }
  // The notice's own row and, when it started the thread, the thread root — one statement. A root
  // recorded the other way (dry-run then live) is replaced: a live reply cannot thread under a WOULD_DO.
  await deps.db.execute(sql`
    with notice as (
      insert into slack_messages (key, task_id, kind, channel, ts, recorded)
      values (${key}, ${task.id}, 'thread', ${posted.channel}, ${posted.ts}, ${recorded})
      on conflict (key) do nothing
      returning 1
    )
    insert into slack_messages as m (key, task_id, kind, channel, ts, recorded)
    select ${`thread:${task.id}`}, ${task.id}, 'thread', ${posted.channel}, ${posted.ts}, ${recorded}
     where ${anchor === undefined}::boolean
    on conflict (key) do update
       set channel = excluded.channel, ts = excluded.ts, recorded = excluded.recorded, updated_at = now()
     where m.recorded <> excluded.recorded`);
  return {
    posted: recorded,
    channel: posted.channel,
    ts: posted.ts,
    ...(anchor ? { threadTs: anchor.ts } : {}),
  };
}

async function note(db: AppDb, taskId: string, text: string): Promise<void> {
  await appendEvents(db, [
    { taskId, actor: NOTIFY_ACTOR, kind: "note", payload: { text, author: NOTIFY_ACTOR } },
  ]);
}
