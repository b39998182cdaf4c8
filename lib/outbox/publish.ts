// Sending outbox rows: after the commit the caller hands the rows its statement wrote to `publish`,
// which sends them with their deterministic ids and marks them sent. A failed send is recorded with a
// backoff (the drain interval, doubling per failure, at most 5 minutes) and left for the drain — the
// rows are safe in the database, so publish never throws.
//
// Concurrent callers share the work, group-commit style: while one batch is in flight, later callers
// queue and go out together in the next one — one event-API call and one UPDATE for the lot, each
// caller still awaiting its own rows. An idle process sends at once, so nothing waits on a timer.
//
// In a long-lived process (the Node server, `deferSentMarks`) the "sent" marks of many batches are
// written together, at most every `ms`: a mark is an UPDATE that rewrites the row and its index
// entries, and one statement per batch cost PostgreSQL more CPU than the submit itself (intake
// bench: 0.27 → 0.12 ms of PostgreSQL CPU per request without it). A mark lost with the process only
// makes the drain re-send rows the engine already has, under the same ids, which it ignores.
import { sql } from "drizzle-orm";
import { storable, toJsonb } from "../../db/rows.ts";
import type { Deps } from "../deps.ts";
import type { OutgoingEvent } from "../events.ts";
import { type OutboxMessage, toEvent } from "./message.ts";

export interface PublishResult {
  sent: number;
  /** Why the engine refused or could not be reached; the rows stay pending (unless `refused`). */
  error?: string;
  /** Rows the engine can never take, set aside (GET /health counts them) and not re-sent. */
  refused?: number;
}

type PublishDeps = Pick<Deps, "config" | "db" | "events" | "logger" | "now">;

/** The engine accepts batches; stay well below its request size limit. */
const MAX_BATCH = 200;

/** Sends one batch and records the outcome on its rows. */
export async function sendBatch(deps: PublishDeps, messages: OutboxMessage[]): Promise<PublishResult> {
  const res = await sendOnly(deps, messages);
  if (res.sent.length > 0) await markSent(deps, res.sent);
  return { sent: res.sent.length, ...(res.error === undefined ? {} : { error: res.error }) };
}

interface SendOutcome {
  /** The rows the engine took; the others were set aside for good (invalid, or refused on their own). */
  sent: OutboxMessage[];
  /** Why the rest could not go out (the engine down); those rows keep a backoff for the drain. */
  error?: string;
}

const messageOf = (err: unknown) => (err as Error).message || String(err);

/**
 * Sends one batch; a failure is recorded on the rows (attempts, error, backoff) before returning. Each
 * row is checked against its event's schema first, and a batch the engine refuses as a request (400,
 * 413) is split until the rows it refuses alone are found. Those are set aside for good (setAside) only
 * when the engine took others beside them: a 400 for every request (a proxy in the way, a wrong URL)
 * says nothing about any one row, so then all of them are retried like an engine away. A row that can
 * never be sent thus never holds back the rows beside it — other callers' rows, in a shared batch.
 */
async function sendOnly(deps: PublishDeps, messages: OutboxMessage[]): Promise<SendOutcome> {
  if (messages.length === 0) return { sent: [] };
  const ready: Ready[] = [];
  const invalid: Refusal[] = [];
  for (const message of messages) {
    try {
      const { validate, ...event } = toEvent(message);
      await validate?.();
      ready.push({ message, event });
    } catch (err) {
      invalid.push({ eventId: message.eventId, error: `invalid event: ${messageOf(err)}` });
    }
  }
  if (invalid.length > 0) await setAside(deps, invalid);
  const out = await sendSplitting(deps, ready);
  const refused = out.alone;
  if (refused.length > 0 && out.sent.length === 0) {
    const error = refused[0]?.error ?? "refused";
    await recordFailed(
      deps,
      refused.map((r) => r.eventId),
      error,
    );
    return { sent: [], error: out.error ?? error };
  }
  if (refused.length > 0) await setAside(deps, refused);
  return { sent: out.sent, ...(out.error === undefined ? {} : { error: out.error }) };
}

type Ready = { message: OutboxMessage; event: OutgoingEvent };

/** Sends, splitting a request the engine refuses (400, 413) down to the rows it refuses alone. */
async function sendSplitting(
  deps: PublishDeps,
  ready: Ready[],
): Promise<{ sent: OutboxMessage[]; alone: Refusal[]; error?: string }> {
  if (ready.length === 0) return { sent: [], alone: [] };
  try {
    await deps.events.send(ready.map((r) => r.event));
    return { sent: ready.map((r) => r.message), alone: [] };
  } catch (err) {
    const error = messageOf(err);
    const status = (err as { status?: unknown }).status;
    if (status === 400 || status === 413) {
      const [only] = ready;
      if (ready.length === 1 && only) {
        return {
          sent: [],
          alone: [{ eventId: only.message.eventId, error: `the engine refused it (${status}): ${error}` }],
        };
      }
      const mid = Math.ceil(ready.length / 2);
      const a = await sendSplitting(deps, ready.slice(0, mid));
      const b = await sendSplitting(deps, ready.slice(mid));
      const either = a.error ?? b.error;
      return {
        sent: [...a.sent, ...b.sent],
        alone: [...a.alone, ...b.alone],
        ...(either ? { error: either } : {}),
      };
    }
    await recordFailed(
      deps,
      ready.map((r) => r.message.eventId),
      error,
    );
    return { sent: [], alone: [], error };
  }
}

/** A send that failed: the rows keep a backoff (the drain interval, doubling, at most 5 minutes). */
async function recordFailed(deps: PublishDeps, ids: string[], error: string): Promise<void> {
  const now = deps.now().toISOString();
  deps.logger.warn("outbox: send failed; the drain will retry", { events: ids.length, error });
  await deps.db
    .execute(
      sql`
      update outbox
         set attempts = attempts + 1, last_error = ${storable(error.slice(0, 1000))},
             next_attempt_at = ${now}::timestamptz
               + make_interval(secs => least(${deps.config.FOREMAN_OUTBOX_DRAIN_SECONDS} * power(2, least(attempts, 10)), 300))
       where event_id = any(${sql.param(ids)}::text[]) and sent_at is null`,
    )
    .catch((e: unknown) =>
      deps.logger.error("outbox: could not record the failed send", { error: String(e) }),
    );
}

interface Refusal {
  eventId: string;
  error: string;
}

/**
 * Rows no retry can send, set aside like rows past the dedup window (abandoned, with the reason in
 * last_error): GET /health counts them, and a person replays or discards them. One statement.
 */
async function setAside(deps: PublishDeps, refused: Refusal[]): Promise<void> {
  // toJsonb (as storable in recordFailed): an engine's error text may hold a NUL, or be cut inside
  // a surrogate pair, which PostgreSQL cannot store; the statement would fail and the rows stay as
  // they were.
  const rows = toJsonb(refused.map((r) => ({ event_id: r.eventId, error: r.error.slice(0, 1000) })));
  deps.logger.error("outbox: events the engine can never take; set aside, not re-sent", {
    count: refused.length,
    events: refused.slice(0, 20),
  });
  await deps.db
    .execute(
      sql`
      update outbox o
         set abandoned_at = ${deps.now().toISOString()}::timestamptz, attempts = o.attempts + 1, last_error = x.error
        from jsonb_to_recordset(${rows}::jsonb) as x(event_id text, error text)
       where o.event_id = x.event_id and o.sent_at is null`,
    )
    .catch((e: unknown) =>
      deps.logger.error("outbox: could not set refused events aside", { error: String(e) }),
    );
}

// Both bookkeeping UPDATEs take the ids as one text[] and are planned afresh on every run (not
// prepared). `event_id in (select jsonb_array_elements_text(…))` let the planner, trusting stale
// statistics ("sent_at is null": 1 row), run the id list once per unsent row — a nested loop that made
// a 1,000-id mark take 1–5 s (webhook bench, auto_explain); a connection's cached generic plan did the
// same from a nearly empty table. `= any(array)` with a fresh plan sees the array's length and the
// table's real size: an index probe per id, or one hashed pass over a small table.
async function markSent(deps: PublishDeps, messages: OutboxMessage[]): Promise<void> {
  const ids = messages.map((m) => m.eventId);
  const now = deps.now().toISOString();
  await deps.db
    .execute(
      sql`
      update outbox set sent_at = ${now}::timestamptz, attempts = attempts + 1, last_error = null
       where event_id = any(${sql.param(ids)}::text[]) and sent_at is null
         -- A lost "sent" mark only causes a re-send the engine ignores, so this commit need not wait
         -- for the WAL flush (set_config local to this statement's own transaction).
         and set_config('synchronous_commit', 'off', true) = 'off'`,
    )
    .catch((e: unknown) =>
      // Sent but not marked: the drain sends it again with the same id, which the engine ignores.
      deps.logger.warn("outbox: sent but not marked sent", { events: messages.length, error: String(e) }),
    );
}

interface Waiting {
  messages: OutboxMessage[];
  resolve: (r: PublishResult) => void;
}

/** At most this many ids in one deferred "sent" UPDATE. */
const MAX_MARKS = 1000;

class Batcher {
  private queue: Waiting[] = [];
  private busy = false;
  /** "Sent" marks still being written; callers do not wait for them (a lost mark is a harmless re-send). */
  readonly marking = new Set<Promise<void>>();
  /** 0: each batch's marks are written at once (a Worker's Deps live for one request). */
  markDelayMs = 0;
  private marks: OutboxMessage[] = [];
  private markTimer: ReturnType<typeof setTimeout> | undefined;
  private flushAfter = false;
  private readonly deps: PublishDeps;
  constructor(deps: PublishDeps) {
    this.deps = deps;
  }

  private mark(messages: OutboxMessage[]): void {
    this.marks.push(...messages);
    if (this.markDelayMs <= 0 || this.marks.length >= MAX_MARKS) this.flushMarks();
    else if (!this.markTimer) {
      this.markTimer = setTimeout(() => this.flushMarks(), this.markDelayMs);
      (this.markTimer as { unref?: () => void }).unref?.();
    }
  }

  /** Writes the pending "sent" marks now — or, while a deferred mark is still running, right after it. */
  flushMarks(): void {
    clearTimeout(this.markTimer);
    this.markTimer = undefined;
    if (this.marks.length === 0) return;
    // One deferred mark at a time: a slow one must not have others pile up behind its row locks.
    if (this.markDelayMs > 0 && this.marking.size > 0) {
      this.flushAfter = true;
      return;
    }
    const messages = this.marks.splice(0, MAX_MARKS);
    const done = markSent(this.deps, messages).finally(() => {
      this.marking.delete(done);
      if (this.flushAfter || this.marks.length >= MAX_MARKS) {
        this.flushAfter = false;
        this.flushMarks();
      } else if (this.marks.length > 0) this.mark([]); // what is left waits for the timer
    });
    this.marking.add(done);
  }

  publish(messages: OutboxMessage[]): Promise<PublishResult> {
    return new Promise((resolve) => {
      this.queue.push({ messages, resolve });
      if (!this.busy) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch: Waiting[] = [];
        let size = 0;
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || size + (this.queue[0]?.messages.length ?? 0) <= MAX_BATCH)
        ) {
          const next = this.queue.shift() as Waiting;
          batch.push(next);
          size += next.messages.length;
        }
        const messages = batch.flatMap((w) => w.messages);
        const res = await sendOnly(this.deps, messages).catch(
          (err: unknown): SendOutcome => ({ sent: [], error: String(err) }),
        );
        if (res.sent.length > 0) this.mark(res.sent);
        const sent = new Set(res.sent.map((m) => m.eventId));
        for (const w of batch) {
          const mine = w.messages.filter((m) => sent.has(m.eventId)).length;
          w.resolve(
            mine === w.messages.length
              ? { sent: mine }
              : res.error !== undefined
                ? { sent: mine, error: res.error }
                : {
                    sent: mine,
                    error: "the engine refused it for good",
                    refused: w.messages.length - mine,
                  },
          );
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

// One batcher per (sender, database): on Node that is one for the process; on Workers, where Deps
// are built per request, one per request.
const batchers = new WeakMap<object, WeakMap<object, Batcher>>();

function batcherFor(deps: PublishDeps): Batcher {
  let byDb = batchers.get(deps.events);
  if (!byDb) {
    byDb = new WeakMap();
    batchers.set(deps.events, byDb);
  }
  let batcher = byDb.get(deps.db);
  if (!batcher) {
    batcher = new Batcher(deps);
    byDb.set(deps.db, batcher);
  }
  return batcher;
}

/** Sends the rows (sharing the call with concurrent publishers) and marks them sent in the background. */
export function publish(deps: PublishDeps, messages: OutboxMessage[]): Promise<PublishResult> {
  if (messages.length === 0) return Promise.resolve({ sent: 0 });
  return batcherFor(deps).publish(messages);
}

/** Resolves when every "sent" mark so far is written, deferred ones included (shutdown, tests). */
export async function publishSettled(deps: PublishDeps): Promise<void> {
  const batcher = batcherFor(deps);
  batcher.flushMarks();
  // A deferred mark may queue the next one as it finishes: wait until none is left.
  while (batcher.marking.size > 0) {
    await Promise.all([...batcher.marking]);
    batcher.flushMarks();
  }
}

/** A long-lived process: write the "sent" marks of these Deps together, at most every `ms`. */
export function deferSentMarks(deps: PublishDeps, ms: number): void {
  batcherFor(deps).markDelayMs = ms;
}
