// The bridge's Prometheus metrics, rendered by prom-client (the library Prometheus users expect: exact
// exposition format, escaping, cumulative histograms). Every bridge owns its own Registry — never the
// global default — so tests, the benchmark and several bridges in one process never share counters.
// The request, latency, queue-wait and token series are fed from the per-request accounting records
// (accounting.ts); the gauges read live state at scrape time, so they can never drift.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AccountingRecord } from "./accounting.ts";

// Inference requests take from milliseconds (a cached short answer) to minutes (long generations).
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Live state the gauges read at scrape time. */
export interface GaugeSnapshot {
  slotsBusy: number;
  slotsTotal: number;
  queueDepth: number;
  upstreams: ReadonlyArray<{ url: string; role: string; inService: boolean; inFlight: number }>;
}

/** Distinct model labels kept on the token series; later ones count as "other". */
export const MAX_MODEL_LABELS = 32;
const MAX_MODEL_LABEL_CHARS = 128;

export class BridgeMetrics {
  readonly #models = new Set<string>();
  readonly registry = new Registry();
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string = this.registry.contentType;

  readonly requests = new Counter({
    name: "bridge_requests_total",
    help: "HTTP requests answered, by route and status.",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: "bridge_tokens_total",
    help: "Tokens counted from upstream usage: direction in = prompt, out = completion.",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  readonly callerRequests = new Counter({
    name: "bridge_caller_requests_total",
    help: "Accounted requests by caller (a short id derived from the bearer token) and status.",
    labelNames: ["caller", "status"] as const,
    registers: [this.registry],
  });
  readonly callerTokens = new Counter({
    name: "bridge_caller_tokens_total",
    help: "Tokens by caller, model (as served by the upstream) and direction.",
    labelNames: ["caller", "model", "direction"] as const,
    registers: [this.registry],
  });
  readonly upstreamFailures = new Counter({
    name: "bridge_upstream_failures_total",
    help: "Failed upstream exchanges (health checks and requests), by upstream and reason.",
    labelNames: ["upstream", "reason"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "bridge_request_duration_seconds",
    help: "Chat completion latency from request arrival to the last byte sent.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: "bridge_queue_wait_seconds",
    help: "Time a chat completion waited for a slot.",
    buckets: WAIT_BUCKETS,
    registers: [this.registry],
  });
  readonly #tokensIn = this.tokens.labels("in");
  readonly #tokensOut = this.tokens.labels("out");
  // Children are cached per label set: the hot path does no label hashing after the first request.
  readonly #children = new Map<string, Counter.Internal>();

  #snapshot: (() => GaugeSnapshot) | undefined;

  constructor() {
    const live = () => this.#snapshot?.();
    const single = (name: string, help: string, read: (s: GaugeSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const s = live();
          if (s) this.set(read(s));
        },
      });
    single("bridge_slots_busy", "Slots in use (upstream requests in flight).", (s) => s.slotsBusy);
    single("bridge_slots_total", "Slots available in total right now.", (s) => s.slotsTotal);
    single("bridge_queue_depth", "Requests waiting for a slot.", (s) => s.queueDepth);
    const perUpstream = (
      name: string,
      help: string,
      read: (u: GaugeSnapshot["upstreams"][number]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ["upstream", "role"] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const u of live()?.upstreams ?? []) this.set({ upstream: u.url, role: u.role }, read(u));
        },
      });
    perUpstream("bridge_upstream_up", "1 while the upstream is in service, 0 while it is out.", (u) =>
      u.inService ? 1 : 0,
    );
    perUpstream("bridge_upstream_in_flight", "Requests in flight per upstream.", (u) => u.inFlight);
  }

  /** Where the gauges read live state from (the server's slots and upstream pool). */
  observeLive(snapshot: () => GaugeSnapshot): void {
    this.#snapshot = snapshot;
  }

  #child(counter: Counter<string>, key: string, values: string[]): Counter.Internal {
    let child = this.#children.get(key);
    if (!child) {
      child = counter.labels(...values);
      this.#children.set(key, child);
    }
    return child;
  }

  /** Every answered HTTP request, /health and /metrics included (status 499: the client left). */
  countRequest(route: string, status: string): void {
    this.#child(this.requests, `r\0${route}\0${status}`, [route, status]).inc();
  }

  /** Aggregates one accounting record (requests counted separately by countRequest). */
  account(r: AccountingRecord): void {
    const status = String(r.status);
    this.#child(this.callerRequests, `c\0${r.caller}\0${status}`, [r.caller, status]).inc();
    if (r.route === "/v1/chat/completions") this.latency.observe(r.latencyMs / 1000);
    if (r.queueWaitMs !== null) this.queueWait.observe(r.queueWaitMs / 1000);
    if (r.tokensIn === 0 && r.tokensOut === 0) return;
    this.#tokensIn.inc(r.tokensIn);
    this.#tokensOut.inc(r.tokensOut);
    const model = this.#modelLabel(r.model ?? "unknown");
    this.#child(this.callerTokens, `t\0${r.caller}\0${model}\0in`, [r.caller, model, "in"]).inc(r.tokensIn);
    this.#child(this.callerTokens, `t\0${r.caller}\0${model}\0out`, [r.caller, model, "out"]).inc(
      r.tokensOut,
    );
  }

  /**
   * The model label is the requested model string, and an upstream that ignores `model` (llama.cpp
   * serves whatever it loaded) answers any string: past MAX_MODEL_LABELS distinct ones, and for one
   * too long to be a model id, the label is "other", so a caller cannot grow the series without bound.
   */
  #modelLabel(model: string): string {
    if (this.#models.has(model)) return model;
    if (model.length > MAX_MODEL_LABEL_CHARS || this.#models.size >= MAX_MODEL_LABELS) return "other";
    this.#models.add(model);
    return model;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
