// HubSpot SDK failures → DomainError, so every edge treats them alike: 404 NOT_FOUND, 409 CONFLICT,
// 401/403 UNAUTHORIZED (non-retriable), 429 RATE_LIMITED with HubSpot's delay, 5xx and network UPSTREAM
// (retried). The SDK's ApiException carries the HTTP status in `code`, the raw JSON in `body`.
import { DomainError } from "../errors.ts";
import { retryAfterMs } from "../llm/errors.ts";

type ApiErrorLike = { code?: unknown; body?: unknown; headers?: Record<string, string> };

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
    const headers = new Headers(e.headers ?? {});
    return new DomainError("RATE_LIMITED", `HubSpot rate limit${detail}`, {
      ...opts,
      retryAfterMs: retryAfterMs(headers) ?? 10_000,
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
