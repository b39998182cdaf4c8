// Lost events: a task in `intake` that was never triaged, or in `ready` while its worker has a free
// slot and the scheduler is not paused, with no progress for FOREMAN_WATCHDOG_LOST_MINUTES — the
// event that should have moved it (`task/submitted` for intake, `task/ready` for ready) is re-sent.
// An event still pending in the outbox is the drain's job, not a lost one, so such tasks are left
// alone. Progress is the later of the task's last event and the last send of that event (the
// outbox's sent_at, on the sender's clock). Each re-send has its own id, per task version and
// attempt — the original id would be dropped by the engine as a duplicate — and the same id within a
// pass, so a retried step sends it again harmlessly. A second attempt waits twice as long as the
// first, and so on (decide.ts), so an event the engine keeps dropping is not re-sent every pass.
//
// Note: intake has `idempotency: event.data.taskId`, so a re-sent task/submitted starts intake only
// when no intake run started for the task in the last 24 h — which is exactly the lost-event case.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { taskReady, taskSubmitted } from "../events.ts";
import { publish } from "../outbox/publish.ts";
import { pausedSql } from "../scheduler/pause.ts";
import { SUBMITTED_PREFIX } from "../tasks/submit.ts";
import { READY_PREFIX } from "../tasks/transition.ts";
import { minutesBefore, resendDue } from "./decide.ts";
import { recordAction } from "./record.ts";

export const RESENT_ACTION = "event_resent";

export interface LostEvent {
  taskId: string;
  status: "intake" | "ready";
  version: number;
  source: "api" | "hubspot" | "agent" | "schedule";
  lastActivityAt: string;
  lastResendAt: string | null;
  /** Earlier watchdog re-sends for this version of the task. */
  attempts: number;
}

type Row = {
  id: string;
  status: "intake" | "ready";
  version: number;
  source: LostEvent["source"];
  activity: string | Date;
  last_resend: string | Date | null;
  attempts: number;
};

export async function findLostEvents(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number },
): Promise<LostEvent[]> {
  // The shortest pause is the first one: rows idle for less cannot be due. The query over-reads
  // (4 × limit) and the pure rule keeps the due ones, so cases still pausing do not crowd them out.
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id, t.status, t.version, t.source, a.at as activity, w.last_at as last_resend, w.attempts
      from tasks t
      cross join lateral (
        select greatest(
          t.created_at,
          (select e.created_at from task_events e
            where e.task_id = t.id and e.kind <> 'watchdog' order by e.id desc limit 1),
          (select o.sent_at from outbox o
            where o.event_id = case when t.status = 'ready' then ${READY_PREFIX}::text || t.id || ':' || t.version
                                    else ${SUBMITTED_PREFIX}::text || t.id end)
        ) as at
      ) a
      cross join lateral (
        select max((e.payload->>'at')::timestamptz) as last_at, count(*)::int as attempts
          from task_events e
         where e.task_id = t.id and e.kind = 'watchdog' and e.payload->>'action' = ${RESENT_ACTION}
           and (e.payload->>'version')::int = t.version
      ) w
     where ((t.status = 'intake' and t.triaged_at is null)
            or (t.status = 'ready'
                and not ${pausedSql}
                and (select count(*) from worker_leases gl where gl.worker_id = t.worker_id)
                    < (select gw.slots from workers gw where gw.id = t.worker_id and gw.active)))
       and greatest(a.at, w.last_at) < ${cutoff}::timestamptz
       and not exists (
         select 1 from outbox o
          where o.sent_at is null and o.abandoned_at is null
            and o.name = case when t.status = 'ready' then ${taskReady.name} else ${taskSubmitted.name} end
            and o.data->>'taskId' = t.id)
     order by greatest(a.at, w.last_at)
     limit ${opts.limit * 4}`);
  return rowsOf<Row>(result)
    .map((r) => ({
      taskId: r.id,
      status: r.status,
      version: Number(r.version),
      source: r.source,
      lastActivityAt: new Date(r.activity).toISOString(),
      lastResendAt: r.last_resend ? new Date(r.last_resend).toISOString() : null,
      attempts: Number(r.attempts),
    }))
    .filter((c) =>
      resendDue({
        lastActivity: new Date(c.lastActivityAt),
        lastResend: c.lastResendAt ? new Date(c.lastResendAt) : null,
        attempts: c.attempts,
        now: opts.now,
        minutes: opts.minutes,
      }),
    )
    .slice(0, opts.limit);
}

type ResendDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

/** The re-send's event id: one per task version and attempt. */
export const resendId = (c: Pick<LostEvent, "taskId" | "status" | "version">, attempt: number): string =>
  `watchdog:${c.status === "ready" ? "task-ready" : "task-submitted"}:${c.taskId}:v${c.version}:${attempt}`;

export async function resendLost(
  deps: ResendDeps,
  c: LostEvent,
  at: string,
): Promise<{ eventId: string; attempt: number; recorded: boolean }> {
  const attempt = c.attempts + 1;
  const id = resendId(c, attempt);
  const event =
    c.status === "ready"
      ? taskReady.create({ taskId: c.taskId }, { id })
      : taskSubmitted.create({ taskId: c.taskId, source: c.source }, { id });
  const r = await recordAction(deps.db, {
    taskId: c.taskId,
    key: `watchdog:resend:${c.taskId}:v${c.version}:${attempt}`,
    payload: {
      action: RESENT_ACTION,
      event: event.name,
      eventId: id,
      state: c.status,
      version: c.version,
      attempt,
      idleSince: c.lastResendAt ?? c.lastActivityAt,
      at,
    },
    emit: [event],
  });
  await publish(deps, r.outbox);
  return { eventId: id, attempt, recorded: r.recorded };
}
