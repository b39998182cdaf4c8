// The outbox drain: re-sends unsent rows oldest first, in batches, with their original ids, so the
// engine deduplicates whatever it already had. It depends on nothing but the database and the event
// API, so it runs from a Node timer and a Workers Cron Trigger (and an Inngest cron as a third path).
// Rows older than the engine's 24 h dedup window are reported and set aside, never re-sent blindly;
// sent rows are pruned after the retention period.
import { sql } from "drizzle-orm";
import { executePrepared } from "../../db/prepared.ts";
import { rowsOf } from "../../db/rows.ts";
import type { Deps } from "../deps.ts";
import type { OutboxMessage } from "./message.ts";
import { sendBatch } from "./publish.ts";

/** Inngest deduplicates an event id for 24 h; an hour of margin keeps a re-send inside it. */
export const DEDUP_SAFE_HOURS = 23;
/** How long a claimed batch is hidden from other drains while it is being sent. */
const CLAIM_SECONDS = 60;

export interface DrainOptions {
  batchSize?: number;
  maxBatches?: number;
  retentionDays?: number;
}

export interface DrainResult {
  sent: number;
  /** Rows that could not be sent this time (the engine is down); they keep their backoff. */
  failed: number;
  /** Rows newly set aside because they outlived the dedup window unsent. */
  abandoned: string[];
  pruned: number;
  error?: string;
}

type DrainDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

export async function drainOutbox(deps: DrainDeps, opts: DrainOptions = {}): Promise<DrainResult> {
  const batchSize = opts.batchSize ?? 100;
  const maxBatches = opts.maxBatches ?? 20;
  const retentionDays = opts.retentionDays ?? 7;
  const now = deps.now().toISOString();
  const out: DrainResult = { sent: 0, failed: 0, abandoned: [], pruned: 0 };

  const stale = rowsOf<{ event_id: string }>(
    await executePrepared(
      deps.db,
      sql`
      update outbox set abandoned_at = ${now}::timestamptz
       where sent_at is null and abandoned_at is null
         and created_at < ${now}::timestamptz - make_interval(hours => ${DEDUP_SAFE_HOURS})
      returning event_id`,
    ),
  );
  out.abandoned = stale.map((r) => r.event_id);
  if (out.abandoned.length > 0) {
    deps.logger.error("outbox: events outlived the engine's dedup window unsent; not re-sent", {
      count: out.abandoned.length,
      eventIds: out.abandoned.slice(0, 20),
    });
  }

  // Due means due within the clock's millisecond: deps.now() has millisecond resolution and the
  // database's now() microseconds, so a row written a few microseconds before this drain began
  // would otherwise wait a whole tick.
  for (let batch = 0; batch < maxBatches; batch++) {
    // The claim runs from its own batch, not from the drain's start: a long drain's later batches
    // would otherwise be claimable by the other senders before they were sent.
    const claimedAt = deps.now().toISOString();
    const claimed = rowsOf<OutboxMessage>(
      await executePrepared(
        deps.db,
        sql`
        update outbox set next_attempt_at = ${claimedAt}::timestamptz + make_interval(secs => ${CLAIM_SECONDS})
         where id in (
           select id from outbox
            where sent_at is null and abandoned_at is null
              and next_attempt_at < ${now}::timestamptz + interval '1 millisecond'
            order by id limit ${batchSize}
            for update skip locked)
        returning event_id as "eventId", name, data`,
      ),
    );
    if (claimed.length === 0) break;
    const res = await sendBatch(deps, claimed);
    out.sent += res.sent;
    if (res.error !== undefined) {
      out.failed += claimed.length - res.sent;
      out.error = res.error;
      break; // the engine is down: keep the rest for the next tick
    }
    if (claimed.length < batchSize) break;
  }

  const pruned = rowsOf<{ n: number | string }>(
    await executePrepared(
      deps.db,
      sql`
      with gone as (
        delete from outbox where id in (
          select id from outbox where sent_at < ${now}::timestamptz - make_interval(days => ${retentionDays})
           order by id limit 1000)
        returning 1)
      select count(*) as n from gone`,
    ),
  );
  out.pruned = Number(pruned[0]?.n ?? 0);
  return out;
}

export interface OutboxStatus {
  pending: number;
  /** Age in seconds of the oldest unsent row, or null when none is pending. */
  oldestPendingSeconds: number | null;
  /** Rows that outlived the dedup window unsent (need a human: replay or discard). */
  abandoned: number;
}

export async function outboxStatus(deps: Pick<Deps, "db" | "now">): Promise<OutboxStatus> {
  const [row] = rowsOf<{
    pending: string | number;
    oldest: string | Date | null;
    abandoned: string | number;
  }>(
    await executePrepared(
      deps.db,
      sql`
      select count(*) filter (where sent_at is null and abandoned_at is null) as pending,
             min(created_at) filter (where sent_at is null and abandoned_at is null) as oldest,
             count(*) filter (where abandoned_at is not null and sent_at is null) as abandoned
        from outbox where sent_at is null`,
    ),
  );
  const oldest = row?.oldest ? new Date(row.oldest) : null;
  return {
    pending: Number(row?.pending ?? 0),
    oldestPendingSeconds: oldest
      ? Math.max(0, Math.round((deps.now().getTime() - oldest.getTime()) / 1000))
      : null,
    abandoned: Number(row?.abandoned ?? 0),
  };
}
