// Per-request accounting (DESIGN §9): every request the bridge answers — except the monitoring routes
// /health and /metrics — leaves exactly one AccountingRecord when its response closes: success,
// refusal, upstream error or a client that left. The record goes to a pluggable sink (default: one
// structured log line, event "request"; tests inject a collector) and is aggregated into /metrics.
// The caller is a short id derived from the bearer token (never the token itself), see callerId().
import { hash } from "node:crypto";

// A type (not an interface) so a record is a plain Record<string, unknown> for the log sink.
export type AccountingRecord = {
  readonly requestId: string;
  readonly route: string;
  readonly method: string;
  /** The caller's id ("t-" + 8 hex chars of the token's SHA-256), or "anonymous" without a valid token. */
  readonly caller: string;
  /** The model the request asked for; null when the body was not read or named none. */
  readonly model: string | null;
  readonly stream: boolean;
  /** HTTP status sent; 499 when the client left before the response was complete. */
  readonly status: number;
  /** Prompt / completion tokens the upstream reported (0 when it reported none). */
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** Whether the upstream reported usage at all (a stream cut short, or an error, reports none). */
  readonly usageReported: boolean;
  /** Milliseconds waited for a slot; null when the request never got one (refused before or while queued). */
  readonly queueWaitMs: number | null;
  /** Arrival to the response closing, in milliseconds. */
  readonly latencyMs: number;
  /** The upstream that served it, when one did. */
  readonly upstream: string | null;
};

export type AccountingSink = (record: AccountingRecord) => void;

/** What the handlers learn about a request while serving it; turned into a record at close. */
export interface RequestAccount {
  caller: string;
  model: string | null;
  stream: boolean;
  tokensIn: number;
  tokensOut: number;
  usageReported: boolean;
  queueWaitMs: number | null;
  upstream: string | null;
}

export const ANONYMOUS = "anonymous";

export const newAccount = (): RequestAccount => ({
  caller: ANONYMOUS,
  model: null,
  stream: false,
  tokensIn: 0,
  tokensOut: 0,
  usageReported: false,
  queueWaitMs: null,
  upstream: null,
});

/**
 * A stable, short, non-reversible label for a bearer token: "t-" and the first 8 hex characters of its
 * SHA-256 (`printf %s "$TOKEN" | sha256sum | cut -c1-8`). Enough to tell rotated tokens and callers
 * apart in logs and metrics; useless for recovering a long random token.
 */
export const callerId = (token: string): string => `t-${hash("sha256", token, "hex").slice(0, 8)}`;
