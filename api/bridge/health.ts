// Health probing: a periodic GET of each upstream's health path (default /v1/models, which every
// OpenAI-compatible server has), plus one probe scheduled for the moment an upstream's cooldown ends,
// so a recovered server is back in service without waiting for the next interval.
import { classify, UpstreamClient } from "./upstream-http.ts";
import type { Upstream, UpstreamPool } from "./upstreams.ts";

export interface HealthOptions {
  intervalMs: number;
  path: string;
  timeoutMs: number;
  headers: Record<string, string>;
}

export class HealthChecker {
  readonly #pool: UpstreamPool;
  readonly #client: UpstreamClient;
  readonly #opts: HealthOptions;
  readonly #recovery = new Map<Upstream, ReturnType<typeof setTimeout>>();
  #interval: ReturnType<typeof setInterval> | undefined;
  #round: Promise<void> | undefined;
  #stopped = false;

  constructor(pool: UpstreamPool, client: UpstreamClient, opts: HealthOptions) {
    this.#pool = pool;
    this.#client = client;
    this.#opts = opts;
  }

  /** Probes at once, then every intervalMs (0 disables the timer; checkNow() still works). */
  start(): void {
    void this.checkNow();
    if (this.#opts.intervalMs > 0) {
      this.#interval = setInterval(() => void this.checkNow(), this.#opts.intervalMs);
      this.#interval.unref();
    }
  }

  /** One round over every upstream that is due; overlapping calls share the running round. */
  checkNow(): Promise<void> {
    this.#round ??= Promise.all(
      this.#pool.all.filter((u) => this.#pool.probeDue(u)).map((u) => this.probe(u)),
    ).then(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  async probe(u: Upstream): Promise<void> {
    if (this.#stopped) return;
    try {
      const res = await this.#client.request(u.target, {
        method: "GET",
        path: this.#opts.path,
        headers: this.#opts.headers,
        timeoutMs: this.#opts.timeoutMs,
      });
      await UpstreamClient.readBody(res); // read to the end: a probe that dies mid-body failed too
      if (this.#stopped) return;
      if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300)
        this.#pool.recordSuccess(u);
      else this.#pool.recordFailure(u, "health", `health check answered ${res.statusCode}`);
    } catch (err) {
      if (this.#stopped) return;
      const e = classify(err);
      this.#pool.recordFailure(u, e.kind === "connect" ? "connect" : "health", `health check: ${e.message}`);
    }
  }

  /** Called when an upstream goes out: probe it again the moment its cooldown is over. */
  scheduleRecovery(u: Upstream): void {
    if (this.#stopped || u.inService) return;
    clearTimeout(this.#recovery.get(u));
    // A few ms past the deadline: the pool ignores a probe result that lands inside the cooldown.
    const timer = setTimeout(
      () => {
        this.#recovery.delete(u);
        void this.probe(u);
      },
      Math.max(0, u.outUntil - Date.now()) + 5,
    );
    timer.unref();
    this.#recovery.set(u, timer);
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#interval);
    for (const timer of this.#recovery.values()) clearTimeout(timer);
    this.#recovery.clear();
  }
}
