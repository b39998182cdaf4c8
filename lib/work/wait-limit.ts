// How long a work run may wait out a rate limit while it holds its worker slot. A run waits by letting
// its step be retried after the provider's delay; past the watchdog's stuck limit a silent run is
// cancelled and requeued, so a longer wait (HubSpot's DAILY cap: an hour and more) would end in triage
// anyway, later and classed as a timeout. Such a wait fails the run now instead: its task goes to
// triage as a rate limit, saying when to retry, and the slot is free for work that can proceed.
import { DomainError, isDomainError } from "../errors.ts";

/** The longest wait a run sits out: half the stuck limit, so the retry lands well before the watchdog. */
export const maxRunWaitMs = (stuckMinutes: number): number => (stuckMinutes * 60_000) / 2;

/** `err` as it should leave the step: unchanged, or a wait too long to hold the slot for, as final. */
export function boundedWait(err: unknown, stuckMinutes: number): unknown {
  if (!isDomainError(err) || err.code !== "RATE_LIMITED" || err.retryAfterMs === undefined) return err;
  if (err.retryAfterMs <= maxRunWaitMs(stuckMinutes)) return err;
  const minutes = Math.ceil(err.retryAfterMs / 60_000);
  return new DomainError(
    "RATE_LIMITED",
    `${err.message} — a wait of about ${minutes} min, too long to hold a worker slot: retry the task once the limit lifts`,
    { cause: err, retryable: false, details: err.details },
  );
}
