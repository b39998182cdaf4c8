// The one Inngest call the outbox makes: POST <event base URL>/e/<event key> with a JSON array of
// events, answered by `{ ids, status }`. Where to send and with which headers comes from the configured
// Inngest client itself (its eventBaseUrl, eventKey, headers and mode), so the request goes exactly
// where inngest.send would send it; only the request is ours. Why: inngest.send costs about 500 µs of
// CPU per call (middleware instances, env reads, an async schema parse, its retry wrapper) against
// about 120 µs for this over a keep-alive node:http agent — measured, that was a fifth of the intake
// route's CPU. Retrying is the outbox's job (publish records the failure with a backoff and the drain
// re-sends with the same ids), so a failed call throws at once instead of backing off in-process.
import type { OutgoingEvent } from "../events.ts";

/** Where the events go, as the Inngest client resolved it from the configuration. */
export interface EventApiTarget {
  url: string;
  headers: Record<string, string>;
  /** Cloud mode without an event key: inngest.send refuses before sending, and so do we. */
  missingKey: boolean;
}

/** The HTTP transport: fetch by default (Workers); a keep-alive node:http agent on the Node server. */
export type EventPost = (
  url: string,
  headers: Record<string, string>,
  body: string,
) => Promise<{ status: number; body: string }>;

/** How long a send may take before it counts as failed (the Node transport's bound, node-post.ts). */
const SEND_TIMEOUT_MS = 10_000;

/**
 * fetch, bounded: an engine that takes the connection and never answers must not hold a request, a
 * step or the drain's cron invocation (whose claim runs out, so the next tick would hang on it too).
 */
export const fetchPostWithin =
  (ms: number): EventPost =>
  async (url, headers, body) => {
    const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(ms) });
    return { status: res.status, body: await res.text() };
  };

export const fetchPost: EventPost = fetchPostWithin(SEND_TIMEOUT_MS);

/** What the Inngest client exposes about its event API (public getters of `Inngest`). */
export interface EventApiClient {
  readonly eventBaseUrl: string;
  readonly eventKey: string | undefined;
  readonly headers: Record<string, string>;
  readonly mode: string;
}

/** The SDK's placeholder key in dev mode (inngest/helpers/consts.js `dummyEventKey`). */
const DUMMY_EVENT_KEY = "NO_EVENT_KEY_SET";

export function eventApiTarget(client: EventApiClient): EventApiTarget {
  const key = client.eventKey;
  return {
    url: new URL(`e/${key ?? DUMMY_EVENT_KEY}`, client.eventBaseUrl).href,
    // One content-type whatever the SDK's casing ("Content-Type"): node:http would send both.
    headers: {
      ...Object.fromEntries(
        Object.entries(client.headers).filter(([k]) => k.toLowerCase() !== "content-type"),
      ),
      "content-type": "application/json",
    },
    missingKey: client.mode === "cloud" && key === undefined,
  };
}

/** The SDK's messages for the event API's refusals (Inngest.getResponseError), so logs read alike. */
const STATUS_MESSAGES: Record<number, string> = {
  400: "Cannot process event payload",
  401: "Event key Not Found",
  403: "Forbidden",
  404: "Event key not found",
  409: "Event transformation failed",
  412: "Event transformation failed",
  413: "Event payload too large",
  500: "Internal server error",
};

type Validatable = OutgoingEvent & { validate?: () => Promise<void> | void; ts?: number };

/** Sends the events in one request; resolves with the ids the engine assigned, or throws why not. */
export async function sendToEventApi(
  target: EventApiTarget,
  events: OutgoingEvent | OutgoingEvent[],
  post: EventPost = fetchPost,
): Promise<{ ids: string[] }> {
  const list = (Array.isArray(events) ? events : [events]) as Validatable[];
  if (list.length === 0) return { ids: [] };
  if (target.missingKey) {
    throw new Error(
      "Failed to send event: no event key is configured (INNGEST_EVENT_KEY); the events were not sent.",
    );
  }
  // `.create()` payloads carry their schema: validate before anything leaves, as inngest.send does.
  for (const e of list) await e.validate?.();
  const ts = Date.now();
  const body = JSON.stringify(
    list.map((e) => ({ id: e.id, name: e.name, data: e.data ?? {}, ts: e.ts ?? ts })),
  );
  const res = await post(target.url, target.headers, body);
  let parsed: { ids?: unknown; status?: unknown; error?: unknown } | undefined;
  try {
    parsed = JSON.parse(res.body) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  const error = typeof parsed?.error === "string" && parsed.error ? parsed.error : undefined;
  if (res.status !== 200 || !parsed || parsed.status !== 200 || error) {
    const why = error ?? STATUS_MESSAGES[res.status] ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
    // The status tells a refused request (400, 413: split it to find the row) from an engine away.
    throw Object.assign(new Error(`Failed to send event: ${why}`), { status: res.status });
  }
  const ids = Array.isArray(parsed.ids) ? parsed.ids.filter((x): x is string => typeof x === "string") : [];
  return { ids };
}
