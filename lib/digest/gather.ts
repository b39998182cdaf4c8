// Gather: every number a digest needs, in ONE statement over the period (one round trip; each part a
// subquery aggregated to JSON), validated with zod at the boundary and shaped by shape.ts. Period
// numbers (events, done, failures, spend) count rows whose created_at falls in [start, end); the
// snapshot numbers (states, stuck, stamps waiting) are as of the digest's `at`.

import { sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { SKIPPED_PREFIX } from "../admin/actions.ts";
import { budgetedTokens } from "../budget/status.ts";
import { guards } from "../tasks/guards.ts";
import type { DigestPeriod } from "./period.ts";
import {
  type Digest,
  type DigestLimits,
  LISTED_ITEMS,
  type RawDigest,
  STUCK_QUEUED_HOURS,
  STUCK_WORKING_HOURS,
  shapeDigest,
} from "./shape.ts";

const n = z.coerce.number();
const json = <T extends z.ZodType>(schema: T) => z.preprocess((v) => fromJson(v as string), schema);
const instant = z.union([z.string(), z.date()]).transform((v) => new Date(v).toISOString());
/** A task the digest names, and since when it has been in its state. */
const taskSince = z.object({
  id: z.string(),
  title: z.string(),
  status: z.string(),
  project_name: z.string(),
  since: instant,
});

// A move to done by a skip (its reason says so, as lib/admin/actions.ts isSkipped reads it) is not work done.
const skippedMove = sql.raw(`coalesce(e.payload->>'reason', '') ~ '^${SKIPPED_PREFIX}\\M'`);

const rawDigest = z.object({
  events: n,
  skipped: n,
  done: json(
    z.array(
      z.object({
        project_id: z.string(),
        project_name: z.string(),
        worker_id: z.string().nullable(),
        worker_name: z.string().nullable(),
        n,
      }),
    ),
  ),
  states: json(z.array(z.object({ status: z.string(), n }))),
  failures: json(z.array(z.object({ reason: z.string().nullable(), n }))),
  usage: json(
    z.array(
      z.object({
        project_id: z.string().nullable(),
        project_name: z.string().nullable(),
        has_task: z.boolean(),
        worker_id: z.string().nullable(),
        worker_name: z.string().nullable(),
        provider: z.string(),
        tier: z.string(),
        tokens: n,
        cost_usd: n,
      }),
    ),
  ),
  stuck: json(z.array(taskSince)),
  stuck_counts: json(z.object({ silent: n, queued: n })),
  waiting: json(
    z.array(
      taskSince.extend({ waiting_on: z.array(z.object({ name: z.string(), escalates: z.boolean() })) }),
    ),
  ),
  waiting_counts: json(z.object({ internal: n, client: n, oldest: instant.nullable() })),
}) satisfies z.ZodType<RawDigest, unknown>;

export async function gatherDigest(db: AppDb, period: DigestPeriod, limits: DigestLimits): Promise<Digest> {
  const at = Date.parse(period.at);
  const start = period.start;
  const end = period.end;
  const silentBefore = new Date(at - STUCK_WORKING_HOURS * 3_600_000).toISOString();
  const queuedBefore = new Date(at - STUCK_QUEUED_HOURS * 3_600_000).toISOString();
  const inPeriod = (col: string) =>
    sql`${sql.raw(col)} >= ${start}::timestamptz and ${sql.raw(col)} < ${end}::timestamptz`;

  const result = await db.execute(sql`
    with open_tasks as (
      select t.id, t.title, t.status::text as status, t.project_id, p.name as project_name,
             coalesce(ev.last_at, t.created_at) as last_at,
             -- Since its move into this state (a task the budget sent back keeps its queue time).
             t.status_since as entered_at,
             -- Triaged and waiting for a dependency: a normal wait (a plan's later step), not stuck.
             (t.status = 'intake' and t.triaged_at is not null
              and not ${guards.dependenciesDone().predicate}) as waits_on_dependency
        from tasks t
        join projects p on p.id = t.project_id
        -- The last event of any kind: is the run alive?
        left join lateral (
          select max(e.created_at) as last_at from task_events e where e.task_id = t.id
        ) ev on true
       where t.status in ('intake', 'ready', 'working', 'awaiting_internal_review', 'awaiting_client_review')
    ),
    stuck as (
      select id, title, status, project_name,
             case when status = 'working' then last_at else entered_at end as since
        from open_tasks
       where (status = 'working' and last_at < ${silentBefore}::timestamptz)
          or (status in ('intake', 'ready') and entered_at < ${queuedBefore}::timestamptz and not waits_on_dependency)
    ),
    waiting as (
      select o.id, o.title, o.status, o.project_name, o.entered_at as since,
             coalesce((
               select json_agg(json_build_object('name', r.name, 'escalates', r.escalates)
                               order by r.escalates, r.name)
                 from reviewers r
                where r.kind = 'human' and r.active
                  and r.stage::text = case o.status when 'awaiting_internal_review' then 'internal' else 'client' end
                  and (r.project_id is null or r.project_id = o.project_id)
             ), '[]'::json) as waiting_on
        from open_tasks o
       where o.status in ('awaiting_internal_review', 'awaiting_client_review')
    )
    select
      (select count(*) from task_events where ${inPeriod("created_at")}) as events,
      (select coalesce(json_agg(d), '[]'::json) from (
         select t.project_id, p.name as project_name, t.worker_id, w.name as worker_name, count(*)::int as n
           from task_events e
           join tasks t on t.id = e.task_id
           join projects p on p.id = t.project_id
           left join workers w on w.id = t.worker_id
          where e.kind = 'state_changed' and e.payload->>'to' = 'done' and ${inPeriod("e.created_at")}
            and not ${skippedMove}
          group by t.project_id, p.name, t.worker_id, w.name) d) as done,
      (select count(*) from task_events e
        where e.kind = 'state_changed' and e.payload->>'to' = 'done' and ${inPeriod("e.created_at")}
          and ${skippedMove}) as skipped,
      (select coalesce(json_agg(s), '[]'::json) from (
         select status::text as status, count(*)::int as n from tasks group by status) s) as states,
      (select coalesce(json_agg(f), '[]'::json) from (
         select e.payload->>'reason' as reason, count(*)::int as n
           from task_events e
          where e.kind = 'state_changed' and e.payload->>'to' = 'failed_needs_triage'
            and ${inPeriod("e.created_at")}
          group by e.payload->>'reason') f) as failures,
      (select coalesce(json_agg(g), '[]'::json) from (
         select coalesce(u.project_id, t.project_id) as project_id, p.name as project_name,
                (u.task_id is not null) as has_task, t.worker_id, w.name as worker_name, u.provider, u.tier,
                sum(${budgetedTokens("u")})::bigint as tokens, sum(u.cost_usd) as cost_usd
           from token_usage u
           left join tasks t on t.id = u.task_id
           left join projects p on p.id = coalesce(u.project_id, t.project_id)
           left join workers w on w.id = t.worker_id
          where ${inPeriod("u.created_at")}
          group by 1, 2, 3, 4, 5, 6, 7) g) as usage,
      (select coalesce(json_agg(x order by x.since, x.id), '[]'::json) from (
         select * from stuck order by since, id limit ${LISTED_ITEMS}) x) as stuck,
      (select json_build_object('silent', count(*) filter (where status = 'working'),
                                'queued', count(*) filter (where status <> 'working')) from stuck) as stuck_counts,
      (select coalesce(json_agg(x order by x.since, x.id), '[]'::json) from (
         select * from waiting order by since, id limit ${LISTED_ITEMS}) x) as waiting,
      (select json_build_object('internal', count(*) filter (where status = 'awaiting_internal_review'),
                                'client', count(*) filter (where status = 'awaiting_client_review'),
                                'oldest', min(since)) from waiting) as waiting_counts`);
  const [row] = rowsOf<unknown>(result);
  return shapeDigest(rawDigest.parse(row), period, limits);
}
