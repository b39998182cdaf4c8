// A small discrete-event simulation of the parts of the Inngest engine the CRM functions lean on,
// which @inngest/test and the lifecycle router do not model: debounce (per key: the run starts a
// period after the key's last event, with the last event, or at the timeout after its first),
// batching (up to maxSize events, or whatever arrived within the timeout of the first), throttle on
// run starts (GCRA: `limit` starts per `period`, evenly spaced, `burst` at once), retries (a
// RetryAfterError waits its delay, anything retryable backs off exponentially, NonRetriableError or
// exhausted retries fail the run) with completed steps memoised across attempts, and event-id
// dedup. Time is virtual: the clock moves only from one scheduled moment to the next, so the
// HubSpot fake's rolling window (put on the same clock) sees the rates the engine would produce,
// while every run is the real function over the real database and the fake over HTTP. What it
// does not model: parallel execution (runs execute one at a time, taking no virtual time — so
// concurrency limits hold trivially), Inngest's queueing latency and jitter.
import { InngestTestEngine, mockCtx } from "@inngest/test";
import { toInngestError } from "../../functions/errors.ts";
import type { Deps } from "../../lib/deps.ts";
import { isDomainError } from "../../lib/errors.ts";
import type { OutgoingEvent } from "../../lib/events.ts";
import type { RecordingSender } from "../deps.ts";

type Fn = ConstructorParameters<typeof InngestTestEngine>[0]["function"];
export interface SimEvent {
  name: string;
  data: Record<string, unknown>;
  id?: string;
}

export type Intake =
  | { kind: "immediate" }
  | { kind: "debounce"; key: (e: SimEvent) => string; periodMs: number; timeoutMs: number }
  | { kind: "batch"; maxSize: number; timeoutMs: number };

export interface Consumer {
  name: string;
  /** The triggers (a function with two triggers has one debounce per key across both). */
  events: string[];
  intake: Intake;
  throttle?: { limit: number; periodMs: number; burst?: number };
  retries: number;
  /** One attempt of a run over these events; `memo` holds the steps completed by earlier attempts. */
  run: (events: SimEvent[], memo: Map<string, unknown>) => Promise<{ error?: unknown; result?: unknown }>;
}

export interface RunRecord {
  consumer: string;
  events: number;
  attempts: number;
  /** Attempts that ended in a RetryAfterError (a rate limit waited out). */
  rateLimited: number;
  failed: boolean;
  error?: string;
  result?: unknown;
  startedAt: number;
  endedAt: number;
}

interface Timer {
  at: number;
  seq: number;
  fire: () => Promise<void>;
}

/** A consumer that runs an Inngest function through @inngest/test with the given deps. */
export function functionConsumer(
  fn: Fn,
  deps: Deps,
  opts: Omit<Consumer, "run" | "name"> & { name?: string },
): Consumer {
  return {
    name: opts.name ?? (fn as unknown as { id(): string }).id(),
    events: opts.events,
    intake: opts.intake,
    ...(opts.throttle ? { throttle: opts.throttle } : {}),
    retries: opts.retries,
    run: async (events, memo) => {
      let thrown: unknown;
      const engine = new InngestTestEngine({
        function: fn,
        events: events as never,
        transformCtx: (raw) => {
          const ctx = mockCtx(raw) as typeof raw & { deps: Deps };
          ctx.deps = deps;
          const run = ctx.step.run.bind(ctx.step) as (id: string, f: () => unknown) => Promise<unknown>;
          // Completed steps are remembered, as the engine memoises them for the next attempt.
          (ctx.step as { run: unknown }).run = (id: string, f: () => unknown) =>
            run(id, async () => {
              try {
                const value = await f();
                memo.set(id, value);
                return value;
              } catch (err) {
                thrown = err;
                throw err;
              }
            });
          return ctx;
        },
      });
      const steps = [...memo].map(([id, value]) => ({ id, handler: () => value }));
      thrown = undefined;
      const res = await engine.execute({ steps });
      // The test engine hands back the error serialized, without a RetryAfterError's delay; the
      // engine proper gets it. So the step's own error is mapped the way ErrorMiddleware maps it.
      if (res.error !== undefined && thrown !== undefined) return { error: toInngestError(thrown) };
      return { error: res.error, result: res.result };
    },
  };
}

/** How long the engine waits before the next attempt, or undefined when the run fails for good. */
export function retryDelay(error: unknown, attempt: number): number | undefined {
  const e = error as { name?: string; retryAfter?: string; cause?: unknown } | undefined;
  if (e?.name === "NonRetriableError") return undefined;
  if (e?.name === "RetryAfterError" && e.retryAfter !== undefined) {
    const seconds = Number(e.retryAfter);
    return Number.isFinite(seconds) ? seconds * 1000 : Math.max(0, Date.parse(e.retryAfter) - Date.now());
  }
  if (isDomainError(error)) {
    if (!error.retryable) return undefined;
    if (error.retryAfterMs !== undefined) return error.retryAfterMs;
  }
  return Math.min(1000 * 2 ** attempt, 60_000);
}

const isRateLimit = (error: unknown) =>
  (error as { name?: string })?.name === "RetryAfterError" ||
  (isDomainError(error) && error.code === "RATE_LIMITED");

export class EngineSim {
  now: number;
  readonly runs: RunRecord[] = [];
  private timers: Timer[] = [];
  private seq = 0;
  private cursor = 0;
  private readonly delivered = new Set<string>();
  private readonly debounces = new Map<string, { event: SimEvent; firstAt: number; dueAt: number }>();
  private readonly batches = new Map<string, { events: SimEvent[]; id: number }>();
  private readonly tat = new Map<string, number>();
  private readonly consumers: Consumer[];
  private readonly sender: RecordingSender;

  constructor(opts: { start: number; sender: RecordingSender; consumers: Consumer[] }) {
    this.now = opts.start;
    this.sender = opts.sender;
    this.consumers = opts.consumers;
  }

  /** Schedules an action (a transition, an inbound webhook) at a virtual time. */
  at(at: number, fire: () => Promise<void>): void {
    this.timers.push({ at, seq: this.seq++, fire });
  }

  /** Runs every scheduled moment in time order until nothing is left (or `maxTime` is passed). */
  async runUntilIdle(maxTime = Number.POSITIVE_INFINITY): Promise<void> {
    await this.route();
    while (this.timers.length > 0) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift() as Timer;
      if (next.at > maxTime) throw new Error(`simulation still busy at ${maxTime - 0} ms (a retry loop?)`);
      this.now = Math.max(this.now, next.at);
      await next.fire();
      await this.route();
    }
  }

  /** Delivers what the functions (and the test's own publishes) sent since the last look. */
  private async route(): Promise<void> {
    while (this.cursor < this.sender.sent.length) {
      const e = this.sender.sent[this.cursor++] as OutgoingEvent;
      if (e.id) {
        if (this.delivered.has(e.id)) continue;
        this.delivered.add(e.id);
      }
      const event: SimEvent = {
        name: e.name,
        data: (e.data ?? {}) as Record<string, unknown>,
        ...(e.id ? { id: e.id } : {}),
      };
      for (const c of this.consumers) if (c.events.includes(e.name)) this.accept(c, event);
    }
  }

  private accept(c: Consumer, event: SimEvent): void {
    const { intake } = c;
    if (intake.kind === "immediate") {
      this.start(c, [event]);
      return;
    }
    if (intake.kind === "debounce") {
      const key = `${c.name}:${intake.key(event)}`;
      const open = this.debounces.get(key);
      const firstAt = open?.firstAt ?? this.now;
      const dueAt = Math.min(this.now + intake.periodMs, firstAt + intake.timeoutMs);
      this.debounces.set(key, { event, firstAt, dueAt });
      this.at(dueAt, async () => {
        const d = this.debounces.get(key);
        if (!d || d.dueAt !== dueAt) return; // pushed out by a later event
        this.debounces.delete(key);
        this.start(c, [d.event]);
      });
      return;
    }
    let batch = this.batches.get(c.name);
    if (!batch) {
      const id = this.seq++;
      batch = { events: [], id };
      this.batches.set(c.name, batch);
      this.at(this.now + intake.timeoutMs, async () => {
        const b = this.batches.get(c.name);
        if (b?.id === id) this.flush(c);
      });
    }
    batch.events.push(event);
    if (batch.events.length >= intake.maxSize) this.flush(c);
  }

  private flush(c: Consumer): void {
    const b = this.batches.get(c.name);
    this.batches.delete(c.name);
    if (b && b.events.length > 0) this.start(c, b.events);
  }

  /** Schedules a run's first attempt, no earlier than the throttle lets it start. */
  private start(c: Consumer, events: SimEvent[]): void {
    let at = this.now;
    if (c.throttle) {
      const interval = c.throttle.periodMs / c.throttle.limit;
      const tat = this.tat.get(c.name) ?? at;
      at = Math.max(at, tat - ((c.throttle.burst ?? 1) - 1) * interval);
      this.tat.set(c.name, Math.max(tat, at) + interval);
    }
    const record: RunRecord = {
      consumer: c.name,
      events: events.length,
      attempts: 0,
      rateLimited: 0,
      failed: false,
      startedAt: at,
      endedAt: at,
    };
    this.runs.push(record);
    const memo = new Map<string, unknown>();
    const attempt = async () => {
      record.attempts++;
      let res: { error?: unknown; result?: unknown };
      try {
        res = await c.run(events, memo);
      } catch (error) {
        res = { error };
      }
      record.endedAt = this.now;
      if (res.error === undefined) {
        record.result = res.result;
        return;
      }
      if (isRateLimit(res.error)) record.rateLimited++;
      const delay = record.attempts > c.retries ? undefined : retryDelay(res.error, record.attempts - 1);
      if (delay === undefined) {
        record.failed = true;
        record.error = (res.error as Error).message ?? String(res.error);
        return;
      }
      this.at(this.now + delay, attempt);
    };
    this.at(at, attempt);
  }

  /** Runs of one consumer. */
  of(name: string): RunRecord[] {
    return this.runs.filter((r) => r.consumer === name);
  }
}
