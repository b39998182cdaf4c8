// Shared harness for the bridge tests: a bridge on port 0 built through the same env parser as
// production, in front of fake OpenAI-compatible upstreams, plus small clients for its endpoints.
// Health checks are off by default (interval 0) so tests drive them with checkHealth().
import type { AccountingRecord } from "../../api/bridge/accounting.ts";
import { parseBridgeEnv } from "../../api/bridge/config.ts";
import { type Bridge, createBridge } from "../../api/bridge/server.ts";

export const TOKEN = "test-token-primary";

export interface TestBridge {
  readonly url: string;
  readonly bridge: Bridge;
  readonly logs: Array<{ event: string; fields?: Record<string, unknown> }>;
  /** Accounting records, in the order the requests closed. */
  readonly records: AccountingRecord[];
  close(): Promise<void>;
}

export async function startBridge(
  upstreams: { active: string[]; standby?: string[] },
  env: Record<string, string> = {},
): Promise<TestBridge> {
  const config = parseBridgeEnv({
    BRIDGE_UPSTREAMS: upstreams.active.join(","),
    BRIDGE_STANDBY: (upstreams.standby ?? []).join(","),
    BRIDGE_TOKENS: TOKEN,
    BRIDGE_HEALTH_INTERVAL_MS: "0",
    BRIDGE_DRAIN_MS: "2000",
    ...env,
  });
  const logs: TestBridge["logs"] = [];
  const records: AccountingRecord[] = [];
  const bridge = createBridge(config, {
    log: (event, fields) => logs.push({ event, fields }),
    accounting: (r) => records.push(r),
  });
  const url = await bridge.listen(0, "127.0.0.1");
  return { url, bridge, logs, records, close: () => bridge.close(0) };
}

export const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

export const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: "fake-model",
  messages: [{ role: "user", content: "Say something." }],
  ...extra,
});

export function chat(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    ...init,
    headers: { "content-type": "application/json", ...auth(), ...(init.headers as Record<string, string>) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export interface HealthBody {
  status: string;
  upstreams: Array<{ url: string; role: string; state: string; serving: boolean; inFlight: number }>;
  slots: { busy: number; total: number };
  queue: { depth: number; max: number };
}

export async function health(url: string): Promise<HealthBody & { httpStatus: number }> {
  const res = await fetch(`${url}/health`);
  return { httpStatus: res.status, ...((await res.json()) as HealthBody) };
}

/** Scrapes /metrics into "name{labels}" → value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: auth() });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}
