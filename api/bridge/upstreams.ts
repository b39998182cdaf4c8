// The upstream pool: each inference server's state (in service or out for a cooldown), the
// consecutive-failure rule that takes one out, and which one gets the next request. Actives share the
// traffic (least in flight first); the standby tier serves only while every active is out, so traffic
// returns to the actives as soon as one is back. Health probing lives in health.ts; this file only
// keeps score.
import type { UpstreamConfig, UpstreamRole } from "./config.ts";
import { type Target, toTarget } from "./upstream-http.ts";

export class Upstream {
  readonly url: string;
  readonly role: UpstreamRole;
  readonly guidedJson: boolean;
  readonly target: Target;
  inService = true;
  /** Consecutive failures; any success resets it. */
  failures = 0;
  inFlight = 0;
  /** While out: when the cooldown ends and the next probe may bring it back (ms since epoch). */
  outUntil = 0;
  lastError: string | undefined;

  constructor(config: UpstreamConfig) {
    this.url = config.url;
    this.role = config.role;
    this.guidedJson = config.guidedJson;
    this.target = toTarget(config.url);
  }
}

/** in: back in service; out: just taken out; cooldown: a failed probe started another cooldown. */
export type Change = "in" | "out" | "cooldown";

/** Low-cardinality failure reasons (a metrics label); the detail goes to `lastError`. */
export type FailureReason = "connect" | "timeout" | "reset" | "status" | "health";

export interface PoolOptions {
  failThreshold: number;
  cooldownMs: number;
  now?: () => number;
  /** Called after an upstream leaves service, starts another cooldown, or re-enters service. */
  onChange?: (upstream: Upstream, change: Change) => void;
  onFailure?: (upstream: Upstream, reason: FailureReason) => void;
}

export class UpstreamPool {
  readonly all: readonly Upstream[];
  readonly #opts: PoolOptions;
  readonly #now: () => number;
  #turn = 0;

  constructor(configs: readonly UpstreamConfig[], opts: PoolOptions) {
    this.all = configs.map((c) => new Upstream(c));
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** The tier taking traffic now: in-service actives, or in-service standbys when no active is. */
  serving(): Upstream[] {
    const actives = this.all.filter((u) => u.inService && u.role === "active");
    return actives.length > 0 ? actives : this.all.filter((u) => u.inService && u.role === "standby");
  }

  /** The serving upstream with the fewest requests in flight (ties rotate), skipping `exclude`. */
  pick(exclude?: ReadonlySet<Upstream>): Upstream | undefined {
    const candidates = this.serving().filter((u) => !exclude?.has(u));
    if (candidates.length === 0) return undefined;
    this.#turn = (this.#turn + 1) % candidates.length;
    let best: Upstream | undefined;
    for (let i = 0; i < candidates.length; i++) {
      const u = candidates[(this.#turn + i) % candidates.length] as Upstream;
      if (best === undefined || u.inFlight < best.inFlight) best = u;
    }
    return best;
  }

  /** How long until the first upstream's cooldown ends: the honest Retry-After when none serves. */
  msUntilNextRetry(): number {
    const now = this.#now();
    const waits = this.all.filter((u) => !u.inService).map((u) => Math.max(0, u.outUntil - now));
    return waits.length === 0 ? 0 : Math.min(...waits);
  }

  /** Eligible for a probe: in service, or out with its cooldown over. */
  probeDue(u: Upstream): boolean {
    return u.inService || this.#now() >= u.outUntil;
  }

  recordSuccess(u: Upstream): void {
    // A late success during the cooldown does not cut it short: a flapping server must stay out.
    if (!u.inService && this.#now() < u.outUntil) return;
    u.failures = 0;
    u.lastError = undefined;
    if (!u.inService) {
      u.inService = true;
      u.outUntil = 0;
      this.#opts.onChange?.(u, "in");
    }
  }

  /**
   * Counts a failure. K in a row take an upstream out; a refused connection ("connect": nothing is
   * listening) takes it out at once; a failed probe after a cooldown starts a new one.
   */
  recordFailure(u: Upstream, reason: FailureReason, detail: string): void {
    const now = this.#now();
    u.failures += 1;
    u.lastError = `${reason}: ${detail}`;
    this.#opts.onFailure?.(u, reason);
    const trips = u.inService
      ? reason === "connect" || u.failures >= this.#opts.failThreshold
      : now >= u.outUntil;
    if (!trips) return;
    const change: Change = u.inService ? "out" : "cooldown";
    u.inService = false;
    u.outUntil = now + this.#opts.cooldownMs;
    this.#opts.onChange?.(u, change);
  }
}
