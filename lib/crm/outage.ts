// crm-push out of retries — HubSpot down for longer than the run's backoff, or refusing foreman's
// token (a 401 fails the run at once) — leaves every ticket of its batch behind, and the failure
// event names only the batch's first request. Settings rows keep what follows:
// - `crm.push_outage`, open from the first failure until a push writes a ticket again. Opening it
//   writes one `crm/push.failed` to the outbox in the same statement (notify posts it to the review
//   channel), so an outage is announced once however many runs fail in it, and the next one again.
//   The row names the run that opened it, so a retried step of that run re-publishes its own event.
// - `crm.push_recoveries`, how many outages have ended, bumped by the statement that closes one. The
//   watchdog's drift check owes each drifted ticket one resync per task version and per recovery
//   (crm-drift.ts), so once HubSpot takes writes again every ticket catches up, whichever batch it
//   was in; while the outage lasts it sends one ticket an hour, a probe whose success ends it.
// - `crm.push_failures`, a count that only grows: the outage's number (and its notice's id).
// - `crm.push_last_ok`, when a push last wrote a ticket. A failure the engine reports after a later
//   push got through (a report delayed or redelivered) is counted but opens no outage: HubSpot
//   already took writes after it, so announcing it would raise an alarm about an outage that is over.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { crmPushFailed } from "../events.ts";
import { classifyFailure } from "../failures.ts";
import type { OutboxMessage } from "../outbox/message.ts";

export const PUSH_FAILURES_KEY = "crm.push_failures";
export const PUSH_OUTAGE_KEY = "crm.push_outage";
export const PUSH_RECOVERIES_KEY = "crm.push_recoveries";
export const PUSH_PROBE_KEY = "crm.push_probe";
export const PUSH_LAST_OK_KEY = "crm.push_last_ok";

export interface PushOutage {
  /** The run whose failure opened the outage. */
  runId: string;
  /** The failure count when it opened: the outage's number, and its notice's event id. */
  failures: number;
  since: string;
  error: string;
}

export interface PushFailureOutcome {
  failures: number;
  /** This run opened the outage: its notice is owed (and in the outbox). */
  opened: boolean;
  outbox: OutboxMessage[];
}

const NOTICE_PREFIX = "crm-push-outage:";
const noticeId = (failures: number) => `${NOTICE_PREFIX}${failures}`;

/** The openings of the errors the HubSpot client raises (lib/hubspot/errors.ts, lib/crm/tickets.ts). */
const HUBSPOT_ERROR = /HubSpot (refused|rate limit|did not answer|answered)|does not exist in HubSpot/;

/**
 * Whether a crm-push failure is HubSpot's: refused credentials, rate limits, no answer, as the HubSpot
 * client words them. Anything else — the database, a bug of foreman's — is not an outage of HubSpot's:
 * announcing one would send people to check the token, and throttle the watchdog's re-pushes to one
 * an hour, for a fault HubSpot does not have. A failed query is never HubSpot's, though its SQL and
 * parameters can name HubSpot (`t.source = 'hubspot'`, a refusal's text being written).
 */
export const isHubSpotFailure = (err: Error): boolean =>
  !err.message.startsWith("Failed query:") && HUBSPOT_ERROR.test(err.message);

/**
 * One crm-push run out of retries (`at`: when it failed): counted, and the outage opened (announced)
 * if none is and no push has written a ticket since.
 */
export async function recordPushFailure(
  db: AppDb,
  input: { runId: string; error: Error; at: Date },
): Promise<PushFailureOutcome> {
  const error = input.error.message.slice(0, 500) || input.error.name || "unknown error";
  const cls = classifyFailure(input.error);
  const result = await db.execute(sql`
    with bumped as (
      insert into settings (key, value) values (${PUSH_FAILURES_KEY}, '1'::jsonb)
      on conflict (key) do update
        set value = to_jsonb((settings.value #>> '{}')::int + 1), updated_at = now()
      returning (value #>> '{}')::int as n
    ),
    opened as (
      insert into settings (key, value)
      select ${PUSH_OUTAGE_KEY},
             jsonb_build_object('runId', ${input.runId}::text, 'failures', n,
                                'since', ${input.at.toISOString()}::text, 'error', ${error}::text)
        from bumped
       where not exists (select 1 from settings ok where ok.key = ${PUSH_LAST_OK_KEY}
                            and (ok.value #>> '{}')::timestamptz >= ${input.at.toISOString()}::timestamptz)
      on conflict (key) do nothing
      returning value
    ),
    announced as (
      insert into outbox (event_id, name, data)
      select ${NOTICE_PREFIX} || (value->>'failures'), ${crmPushFailed.name},
             jsonb_build_object('error', value->>'error', 'class', ${cls}::text,
                                'failures', (value->>'failures')::int, 'since', value->>'since')
        from opened
      on conflict (event_id) do nothing
    )
    select (select n from bumped) as failures,
           coalesce((select value from opened),
                    (select value from settings where key = ${PUSH_OUTAGE_KEY})) as outage`);
  const row = rowsOf<{ failures: number | string; outage: PushOutage | string | null }>(result)[0];
  const failures = Number(row?.failures ?? 0);
  const outage = row?.outage ? fromJson(row.outage) : null;
  if (!outage || outage.runId !== input.runId) return { failures, opened: false, outbox: [] };
  const message: OutboxMessage = {
    eventId: noticeId(outage.failures),
    name: crmPushFailed.name,
    data: { error: outage.error, class: cls, failures: outage.failures, since: outage.since },
  };
  return { failures, opened: true, outbox: [message] };
}

/**
 * A push wrote a ticket at `at`: HubSpot takes writes, so the open outage (if any) is over — counted —
 * and failures from before it no longer open one.
 */
export async function closePushOutage(db: AppDb, at: Date): Promise<PushOutage | null> {
  const gone = rowsOf<{ value: PushOutage | string | null }>(
    await db.execute(sql`
      with gone as (delete from settings where key = ${PUSH_OUTAGE_KEY} returning value),
      ok as (
        insert into settings (key, value) values (${PUSH_LAST_OK_KEY}, to_jsonb(${at.toISOString()}::text))
        on conflict (key) do update set value = excluded.value, updated_at = now()
          where (settings.value #>> '{}')::timestamptz < (excluded.value #>> '{}')::timestamptz
      ),
      bumped as (
        insert into settings (key, value) select ${PUSH_RECOVERIES_KEY}, '1'::jsonb from gone
        on conflict (key) do update
          set value = to_jsonb((settings.value #>> '{}')::int + 1), updated_at = now()
        returning 1
      )
      select (select value from gone) as value`),
  )[0];
  return gone?.value ? fromJson(gone.value) : null;
}

/** Where CRM pushes stand: the open outage (if any) and how many have ended. */
export async function readPushHealth(db: AppDb): Promise<{ outage: PushOutage | null; recoveries: number }> {
  const row = rowsOf<{ outage: PushOutage | string | null; recoveries: string | number | null }>(
    await db.execute(sql`
      select (select value from settings where key = ${PUSH_OUTAGE_KEY}) as outage,
             (select (value #>> '{}')::int from settings where key = ${PUSH_RECOVERIES_KEY}) as recoveries`),
  )[0];
  return { outage: row?.outage ? fromJson(row.outage) : null, recoveries: Number(row?.recoveries ?? 0) };
}

/** Takes the outage's probe for this round (an hour of it): false when a pass already took it. */
export async function claimProbe(db: AppDb, round: string): Promise<boolean> {
  const claimed = rowsOf(
    await db.execute(sql`
      insert into settings (key, value) values (${PUSH_PROBE_KEY}, to_jsonb(${round}::text))
      on conflict (key) do update set value = excluded.value, updated_at = now()
        where settings.value is distinct from excluded.value
      returning key`),
  );
  return claimed.length > 0;
}
