// Stamps waiting: every task at a human stage, with whom it waits on (the active human reviewers listed
// for its project, or for every project, at that stage), since when (the state_changed event that moved
// it there), the Slack card posted for its current version (channel only: the permalink is not stored)
// and, at the client stage, the state of its latest client link (tokens are not stored either: only
// expiry and use). ONE query.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { type StampStage, stageOf } from "../states.ts";
import { currentEntrySql } from "../tasks/entry.ts";

export type WaitingStage = StampStage;

export interface WaitingReviewer {
  name: string;
  slackUserId: string | null;
  email: string | null;
  /** An escalation reviewer: named once the escalation delay has passed. */
  escalates: boolean;
}

export interface WaitingStamp {
  taskId: string;
  title: string;
  projectId: string;
  projectName: string | null;
  stage: WaitingStage;
  dryRun: boolean;
  since: Date;
  reviewers: WaitingReviewer[];
  /** The review card of the current deliverable version, when one was posted (or recorded in dry-run). */
  card: { channel: string; recorded: "sent" | "would_do" } | null;
  /** The latest client link for the current version. */
  link: { expiresAt: Date; usedAt: Date | null } | null;
}

interface Row {
  id: string;
  title: string;
  project_id: string;
  project_name: string | null;
  status: "awaiting_internal_review" | "awaiting_client_review";
  dry_run: boolean;
  since_ms: string | number;
  reviewers: WaitingReviewer[] | string;
  card_channel: string | null;
  card_recorded: "sent" | "would_do" | null;
  link_expires_ms: string | number | null;
  link_used_ms: string | number | null;
}

const ms = (v: string | number | null) => (v === null ? null : new Date(Number(v)));

/** Oldest wait first; at most `limit` rows. */
export async function readWaitingStamps(
  db: AppDb,
  opts: { projectId?: string | undefined; limit: number },
): Promise<WaitingStamp[]> {
  const project = opts.projectId ?? null;
  const result = await db.execute(sql`
    select t.id, t.title, t.project_id, p.name as project_name, t.status, t.dry_run,
           (extract(epoch from coalesce(e.created_at, t.updated_at)) * 1000)::float8 as since_ms,
           coalesce((
             select json_agg(json_build_object('name', r.name, 'slackUserId', r.slack_user_id,
                                               'email', r.email, 'escalates', r.escalates)
                             order by r.escalates, r.name)
               from reviewers r
              where r.kind = 'human' and r.active
                and r.stage = (case when t.status = 'awaiting_internal_review' then 'internal'
                                    else 'client' end)::review_stage
                and (r.project_id is null or r.project_id = t.project_id)
           ), '[]'::json) as reviewers,
           c.channel as card_channel, c.recorded as card_recorded,
           (extract(epoch from l.expires_at) * 1000)::float8 as link_expires_ms,
           (extract(epoch from l.used_at) * 1000)::float8 as link_used_ms
      from tasks t
      left join projects p on p.id = t.project_id
      left join lateral (${currentEntrySql()}) e on true
      left join lateral (
        select channel, recorded from slack_messages
         where task_id = t.id and kind = 'card' and deliverable_hash = t.deliverable_hash
         order by created_at desc limit 1
      ) c on true
      left join lateral (
        select expires_at, used_at from stamp_links
         where task_id = t.id and stage = 'client' and deliverable_hash = t.deliverable_hash
           and t.status = 'awaiting_client_review'
         order by created_at desc limit 1
      ) l on true
     where t.status in ('awaiting_internal_review', 'awaiting_client_review')
       and (${project}::text is null or t.project_id = ${project}::text)
     order by since_ms, t.id
     limit ${opts.limit}`);
  return rowsOf<Row>(result).map((r) => {
    const expires = ms(r.link_expires_ms);
    return {
      taskId: r.id,
      title: r.title,
      projectId: r.project_id,
      projectName: r.project_name,
      stage: stageOf(r.status) as StampStage,
      dryRun: r.dry_run,
      since: new Date(Number(r.since_ms)),
      reviewers: fromJson(r.reviewers),
      card: r.card_channel && r.card_recorded ? { channel: r.card_channel, recorded: r.card_recorded } : null,
      link: expires ? { expiresAt: expires, usedAt: ms(r.link_used_ms) } : null,
    };
  });
}
