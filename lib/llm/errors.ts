// openai SDK errors → DomainError, for any OpenAI-compatible endpoint (the GPU bridge first of all).
// The mapping decides what Inngest does next (see functions/errors.ts): 503/429 wait for the server's
// Retry-After, 502/5xx/network retry, 401/403 stop at once (a bad token will not fix itself).
import { APIConnectionError, APIError, APIUserAbortError } from "openai";
import { DomainError } from "../errors.ts";

/** Retry-After as milliseconds: `retry-after-ms`, then `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = Number(headers?.get("retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const raw = headers?.get("retry-after");
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Maps an error thrown by the openai SDK. A caller's own abort and anything that is not an SDK error
 * are returned unchanged: they are not the model's to explain.
 */
export function fromOpenAIError(err: unknown, what: string): unknown {
  if (err instanceof APIUserAbortError || !(err instanceof APIError)) return err;
  if (err instanceof APIConnectionError) {
    return new DomainError("UPSTREAM", `${what} could not be reached: ${err.message}`, { cause: err });
  }
  const status = err.status;
  const details = { status, code: err.code ?? undefined, requestId: err.requestID ?? undefined };
  const opts = { cause: err, details };
  const message = `${what} answered ${status ?? "with an error"}: ${err.message}`;
  // `class: "auth"` is what triage files the task under: a bad key needs a person, not a retry.
  if (status === 401 || status === 403)
    return new DomainError("UNAUTHORIZED", message, { ...opts, details: { ...details, class: "auth" } });
  if (status === 429)
    return new DomainError("RATE_LIMITED", message, { ...opts, retryAfterMs: retryAfterMs(err.headers) });
  if (status === 503)
    return new DomainError("UNAVAILABLE", message, { ...opts, retryAfterMs: retryAfterMs(err.headers) });
  // No status: an error event inside a stream (the server failed mid-answer).
  if (status === undefined || status >= 500) return new DomainError("UPSTREAM", message, opts);
  // 404: the configured model name is wrong. Other 4xx: the request itself is wrong. Neither heals.
  if (status === 404) return new DomainError("CONFIG", message, opts);
  return new DomainError("VALIDATION", message, opts);
}
