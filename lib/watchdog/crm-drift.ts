// CRM drift: tickets whose stage is not the task's state. crm_links holds the state whose stage we
// last pushed, so "we never pushed the latest" needs no HubSpot read: a linked ticket, or one whose
// creation was owed or tried and never confirmed (crm-push out of retries; only a dry-run's link row
// is no push's), whose pushed state differs from the task's, quiet for FOREMAN_WATCHDOG_LOST_MINUTES
// (crm-sync's debounce and crm-push's batches have had their time), with no push request pending in
// the outbox and no refusal by HubSpot for this version (that one waits for a person: crm-push left
// a triage note). It is re-synced the way crm-sync asks: a `crm/push.requested` through the outbox,
// with a watchdog event, once per task version, per refused move since and per round (pushRound): a
// resync lost in a HubSpot outage is owed again once the outage ends (lib/crm/outage.ts), and while it
// lasts one ticket an hour probes it. In dry-run nothing is pushed, so nothing drifts: the check does
// not run.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { crmPushRequested } from "../events.ts";
import { loadSetupMapping } from "../hubspot/setup-mapping.ts";
import { publish } from "../outbox/publish.ts";
import type { TaskState } from "../states.ts";
import { minutesBefore } from "./decide.ts";
import { recordAction } from "./record.ts";

export const RESYNC_ACTION = "crm_resync";

export interface CrmDrift {
  taskId: string;
  version: number;
  status: TaskState;
  pushedState: TaskState | null;
  /** Null when the ticket's creation was tried and never confirmed: the push adopts it or creates it. */
  ticketId: string | null;
  /** The latest refused HubSpot move's event id (0: none): a resync is owed once per version and refusal. */
  refusal: number;
  /** The round this resync belongs to (pushRound): a resync is owed once per round. */
  round: string;
}

/**
 * The round of resyncs the drift check is in. Each ended HubSpot outage starts a new one (`:c<n>`,
 * the recoveries so far), so every ticket left behind in it is owed again once writes work. While an
 * outage is open, each hour of it is a round for ONE ticket (`:o<outage>h<hour>`): a probe, whose
 * successful push ends the outage — not every drifted ticket every pass.
 */
export function pushRound(
  health: { outage: { failures: number; since: string } | null; recoveries: number },
  now: Date,
) {
  if (health.outage) {
    const hour = Math.max(0, Math.floor((now.getTime() - Date.parse(health.outage.since)) / 3_600_000));
    return { round: `:o${health.outage.failures}h${hour}`, probe: true };
  }
  return { round: health.recoveries > 0 ? `:c${health.recoveries}` : "", probe: false };
}

/**
 * Once per task version — per refused HubSpot move since, which changes no version but moves the
 * ticket away again (`r` is the latest refusal's event id, 0 for none), and per round (pushRound).
 */
const resyncSuffix = (d: Pick<CrmDrift, "version" | "refusal" | "round">) =>
  `v${d.version}${d.refusal > 0 ? `:r${d.refusal}` : ""}${d.round}`;
const resyncKey = (d: CrmDrift) => `watchdog:crm:${d.taskId}:${resyncSuffix(d)}`;
const latestRefusalSql = sql`coalesce((select max(r.id) from task_events r
                                         where r.task_id = t.id and r.kind = 'refusal'), 0)`;

export async function findCrmDrift(
  db: AppDb,
  opts: { now: Date; minutes: number; limit: number; round?: string },
): Promise<CrmDrift[]> {
  const round = opts.round ?? "";
  const cutoff = minutesBefore(opts.now, opts.minutes).toISOString();
  const result = await db.execute(sql`
    select t.id, t.version, t.status, l.pushed_state, l.ticket_id, ${latestRefusalSql} as refusal
      from crm_links l
      join tasks t on t.id = l.task_id
     where (l.ticket_id is not null or l.create_attempted_at is not null or l.would_do_event_id is null)
       and l.pushed_state is distinct from t.status
       and l.refused_version is distinct from t.version
       and not t.dry_run
       and t.updated_at < ${cutoff}::timestamptz
       and not exists (
         select 1 from outbox o
          where o.sent_at is null and o.abandoned_at is null
            and o.name = ${crmPushRequested.name} and o.data->>'taskId' = t.id)
       and not exists (
         select 1 from task_events e
          where e.task_id = t.id
            and e.idempotency_key = 'watchdog:crm:' || t.id || ':v' || t.version
                                    || case when ${latestRefusalSql} > 0 then ':r' || ${latestRefusalSql} else '' end
                                    || ${round}::text)
     order by t.updated_at
     limit ${opts.limit}`);
  return rowsOf<{
    id: string;
    version: number;
    status: TaskState;
    pushed_state: TaskState | null;
    ticket_id: string | null;
    refusal: string | number;
  }>(result).map((r) => ({
    taskId: r.id,
    version: Number(r.version),
    status: r.status,
    pushedState: r.pushed_state,
    ticketId: r.ticket_id,
    refusal: Number(r.refusal),
    round,
  }));
}

type DriftDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now" | "hubspot">;

/** Why the check cannot run here (nothing could be pushed), or null when it can. */
export async function crmDriftSkipped(deps: DriftDeps): Promise<string | null> {
  if (deps.config.FOREMAN_DRY_RUN) return "dry-run: tickets are not written, so they cannot drift";
  if (!deps.hubspot) return "HUBSPOT_ACCESS_TOKEN is not set: tickets cannot be written";
  if (!(await loadSetupMapping(deps.db))) return "HubSpot setup has not run (npm run setup:hubspot)";
  return null;
}

export async function requestResync(
  deps: DriftDeps,
  d: CrmDrift,
  at: string,
): Promise<{ eventId: string; recorded: boolean }> {
  const id = `watchdog:crm-push:${d.taskId}:${resyncSuffix(d)}`;
  const r = await recordAction(deps.db, {
    taskId: d.taskId,
    key: resyncKey(d),
    payload: {
      action: RESYNC_ACTION,
      ticketId: d.ticketId,
      pushedState: d.pushedState,
      state: d.status,
      version: d.version,
      eventId: id,
      at,
    },
    emit: [crmPushRequested.create({ taskId: d.taskId }, { id })],
  });
  await publish(deps, r.outbox);
  return { eventId: id, recorded: r.recorded };
}
