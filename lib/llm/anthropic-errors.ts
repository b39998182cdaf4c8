// @anthropic-ai/sdk errors → DomainError. What the waterfall and Inngest do next hangs on the code:
// RATE_LIMITED (429, 529, overloaded_error) puts the provider in a cooldown and moves the same turn to
// the overflow tier; UNAUTHORIZED (401/403) stops at once with `class: "auth"` for triage; UPSTREAM
// (5xx, network, timeout) is left to Inngest's retry with backoff; a 400 is our own bad request.
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import { DomainError } from "../errors.ts";
import { retryAfterMs } from "./errors.ts";

/** Maps an SDK error; a caller's abort and anything that is not an API error are returned unchanged. */
export function fromAnthropicError(err: unknown, what: string, now = Date.now()): unknown {
  if (err instanceof APIUserAbortError || !(err instanceof APIError)) return err;
  if (err instanceof APIConnectionTimeoutError)
    return new DomainError("UPSTREAM", `${what} timed out`, { cause: err, details: { class: "timeout" } });
  if (err instanceof APIConnectionError)
    return new DomainError("UPSTREAM", `${what} could not be reached: ${err.message}`, {
      cause: err,
      details: { class: "upstream" },
    });
  const status = err.status;
  const facts = { status, type: err.type ?? undefined, requestId: err.requestID ?? undefined };
  const message = `${what} answered ${status ?? "with an error"}: ${err.apiMessage ?? err.message}`;
  const as = (cls: string) => ({ cause: err, details: { ...facts, class: cls } });
  if (status === 401 || status === 403) return new DomainError("UNAUTHORIZED", message, as("auth"));
  if (status === 429 || status === 529 || err.type === "overloaded_error") {
    const cls = status === 429 ? "rate_limit" : "overloaded";
    return new DomainError("RATE_LIMITED", message, {
      ...as(cls),
      retryAfterMs: retryAfterMs(err.headers, now),
    });
  }
  if (status === undefined || status >= 500 || status === 408)
    return new DomainError("UPSTREAM", message, as("upstream"));
  // 404: the configured model does not exist. Any other 4xx: the request itself is wrong. Neither heals.
  if (status === 404) return new DomainError("CONFIG", message, as("not_found"));
  return new DomainError("VALIDATION", message, as("invalid_request"));
}
