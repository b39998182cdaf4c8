// HubSpot SDK failures → DomainError, so every edge treats them alike: 404 NOT_FOUND, 409 CONFLICT,
// 401/403 UNAUTHORIZED (non-retriable), 429 RATE_LIMITED with HubSpot's delay (rateLimitDelayMs), 5xx and network UPSTREAM
// (retried). The SDK's ApiException carries the HTTP status in `code`, the raw JSON in `body`.
import { DomainError } from "../errors.ts";
import { retryAfterMs } from "../llm/errors.ts";

type ApiErrorLike = { code?: unknown; body?: unknown; headers?: Record<string, string> };

/**
 * HubSpot's wait before the next call: its Retry-After if sent; for the DAILY policy an hour (the
 * daily cap does not lift in seconds: retrying every 10 s would spend a run's retries in a minute and
 * send its task to triage); else the rolling window's length (its interval header), else 10 s.
 */
export function rateLimitDelayMs(headers: Record<string, string> | undefined, body: unknown): number {
  const h = new Headers(headers ?? {});
  const given = retryAfterMs(h);
  if (given !== undefined) return given;
  if ((body as { policyName?: string } | undefined)?.policyName === "DAILY") return 60 * 60_000;
  const interval = Number(h.get("x-hubspot-ratelimit-interval-milliseconds") ?? Number.NaN);
  return Number.isFinite(interval) && interval > 0 ? interval : 10_000;
}

export function fromHubSpotError(err: unknown, what: string): DomainError {
  if (err instanceof DomainError) return err;
  const e = (err ?? {}) as ApiErrorLike;
  const status = typeof e.code === "number" ? e.code : undefined;
  const body = e.body as { message?: string; category?: string } | undefined;
  const detail = body?.message ? `: ${body.message}` : "";
  const opts = { cause: err, details: { status, category: body?.category } };
  if (status === 404) return new DomainError("NOT_FOUND", `${what} does not exist in HubSpot${detail}`, opts);
  if (status === 401 || status === 403) {
    return new DomainError("UNAUTHORIZED", `HubSpot refused the credentials (${status})${detail}`, opts);
  }
  if (status === 429) {
    const policy = (e.body as { policyName?: string } | undefined)?.policyName ?? "unknown policy";
    return new DomainError("RATE_LIMITED", `HubSpot rate limit (${policy}) on ${what}${detail}`, {
      cause: err,
      retryAfterMs: rateLimitDelayMs(e.headers, e.body),
      details: { status, category: body?.category, policyName: policy },
    });
  }
  if (status === 409)
    return new DomainError("CONFLICT", `HubSpot refused the request (409): it already exists${detail}`, opts);
  if (status !== undefined && status >= 400 && status < 500) {
    return new DomainError("VALIDATION", `HubSpot refused the request (${status})${detail}`, opts);
  }
  return new DomainError(
    "UPSTREAM",
    `${what}: HubSpot did not answer (${status ?? (err as Error)?.message})`,
    opts,
  );
}
