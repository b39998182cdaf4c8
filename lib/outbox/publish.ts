// Sending outbox rows: after the commit the caller hands the rows its statement wrote to `publish`,
// which sends them with their deterministic ids and marks them sent. A failed send is recorded with
// a backoff (the drain interval, doubling per failure, at most 5 minutes) and left for the drain — the rows are safe in the database, so publish never throws.
import { sql } from "drizzle-orm";
import type { Deps } from "../deps.ts";
import { type OutboxMessage, toEvent } from "./message.ts";

export interface PublishResult {
  sent: number;
  /** Why the engine refused or could not be reached; the rows stay pending. */
  error?: string;
}

type PublishDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

export async function publish(deps: PublishDeps, messages: OutboxMessage[]): Promise<PublishResult> {
  if (messages.length === 0) return { sent: 0 };
  const ids = messages.map((m) => m.eventId);
  const idList = sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  );
  const base = deps.config.FOREMAN_OUTBOX_DRAIN_SECONDS;
  try {
    await deps.events.send(messages.map(toEvent));
  } catch (err) {
    const error = (err as Error).message || String(err);
    deps.logger.warn("outbox: send failed; the drain will retry", { events: ids.length, error });
    await deps.db
      .execute(sql`
        update outbox
           set attempts = attempts + 1, last_error = ${error.slice(0, 1000)},
               next_attempt_at = ${deps.now().toISOString()}::timestamptz
                 + make_interval(secs => least(${base} * power(2, least(attempts, 10)), 300))
         where event_id in (${idList}) and sent_at is null`)
      .catch((e: unknown) =>
        deps.logger.error("outbox: could not record the failed send", { error: String(e) }),
      );
    return { sent: 0, error };
  }
  await deps.db
    .execute(sql`
      update outbox set sent_at = ${deps.now().toISOString()}::timestamptz, attempts = attempts + 1, last_error = null
       where event_id in (${idList}) and sent_at is null`)
    .catch((e: unknown) =>
      // Sent but not marked: the drain sends it again with the same id, which the engine ignores.
      deps.logger.warn("outbox: sent but not marked sent", { events: ids.length, error: String(e) }),
    );
  return { sent: ids.length };
}
