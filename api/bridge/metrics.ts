// Prometheus text exposition (format 0.0.4) for the bridge: a counter, a histogram and gauge
// rendering, small enough to own instead of pulling in a metrics library for one endpoint. The set of
// metrics the bridge exports is defined once in BridgeMetrics so /metrics and the tests agree.

export type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

export class Counter {
  readonly name: string;
  readonly help: string;
  readonly #values = new Map<string, number>();

  constructor(name: string, help: string) {
    this.name = name;
    this.help = help;
  }

  inc(labels: Labels = {}, by = 1): void {
    this.#add(labelText(labels), by);
  }

  /** A pre-labelled incrementer for hot paths: the label text is rendered once, not per call. */
  labels(labels: Labels): (by?: number) => void {
    const key = labelText(labels);
    return (by = 1) => this.#add(key, by);
  }

  #add(key: string, by: number): void {
    this.#values.set(key, (this.#values.get(key) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, "counter");
    for (const [key, value] of this.#values) out += `${this.name}${key} ${value}\n`;
    return out;
  }
}

export class Histogram {
  readonly name: string;
  readonly help: string;
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    this.#sum += value;
    this.#count += 1;
    // Buckets are stored non-cumulatively and summed at render time: observe stays one increment.
    const i = this.#bounds.findIndex((b) => value <= b);
    if (i !== -1) this.#counts[i] = (this.#counts[i] ?? 0) + 1;
  }

  get count(): number {
    return this.#count;
  }

  render(): string {
    let out = header(this.name, this.help, "histogram");
    let cumulative = 0;
    this.#bounds.forEach((bound, i) => {
      cumulative += this.#counts[i] ?? 0;
      out += `${this.name}_bucket{le="${bound}"} ${cumulative}\n`;
    });
    out += `${this.name}_bucket{le="+Inf"} ${this.#count}\n`;
    out += `${this.name}_sum ${this.#sum}\n${this.name}_count ${this.#count}\n`;
    return out;
  }
}

export function renderGauge(name: string, help: string, samples: ReadonlyArray<[Labels, number]>): string {
  let out = header(name, help, "gauge");
  for (const [labels, value] of samples) out += `${name}${labelText(labels)} ${value}\n`;
  return out;
}

// Inference requests take from milliseconds (a cached short answer) to minutes (long generations).
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Live state the gauges read at scrape time, so they can never drift from the real counters. */
export interface GaugeSnapshot {
  slotsBusy: number;
  slotsTotal: number;
  queueDepth: number;
  upstreams: ReadonlyArray<{ url: string; role: string; inService: boolean; inFlight: number }>;
}

export class BridgeMetrics {
  readonly requests = new Counter("bridge_requests_total", "HTTP requests answered, by route and status.");
  readonly tokens = new Counter(
    "bridge_tokens_total",
    "Tokens counted from upstream usage: direction in = prompt, out = completion.",
  );
  readonly tokensIn = this.tokens.labels({ direction: "in" });
  readonly tokensOut = this.tokens.labels({ direction: "out" });
  readonly upstreamFailures = new Counter(
    "bridge_upstream_failures_total",
    "Failed upstream exchanges (health checks and requests), by upstream and reason.",
  );
  readonly latency = new Histogram(
    "bridge_request_duration_seconds",
    "Chat completion latency from request arrival to the last byte sent.",
    LATENCY_BUCKETS,
  );
  readonly queueWait = new Histogram(
    "bridge_queue_wait_seconds",
    "Time a chat completion waited for a slot.",
    WAIT_BUCKETS,
  );

  readonly #requestCounters = new Map<string, (by?: number) => void>();

  countRequest(route: string, status: string): void {
    const key = `${route} ${status}`;
    let inc = this.#requestCounters.get(key);
    if (!inc) {
      inc = this.requests.labels({ route, status });
      this.#requestCounters.set(key, inc);
    }
    inc();
  }

  render(live: GaugeSnapshot): string {
    const perUpstream = (value: (u: GaugeSnapshot["upstreams"][number]) => number) =>
      live.upstreams.map((u): [Labels, number] => [{ upstream: u.url, role: u.role }, value(u)]);
    return [
      this.requests.render(),
      this.tokens.render(),
      this.upstreamFailures.render(),
      this.latency.render(),
      this.queueWait.render(),
      renderGauge("bridge_slots_busy", "Slots in use (upstream requests in flight).", [[{}, live.slotsBusy]]),
      renderGauge("bridge_slots_total", "Slots available in total right now.", [[{}, live.slotsTotal]]),
      renderGauge("bridge_queue_depth", "Requests waiting for a slot.", [[{}, live.queueDepth]]),
      renderGauge(
        "bridge_upstream_up",
        "1 while the upstream is in service, 0 while it is out.",
        perUpstream((u) => (u.inService ? 1 : 0)),
      ),
      renderGauge(
        "bridge_upstream_in_flight",
        "Requests in flight per upstream.",
        perUpstream((u) => u.inFlight),
      ),
    ].join("");
  }
}
