// The function edge's error mapping (style §6, tier 3): a DomainError becomes what Inngest acts on —
// NonRetriableError when retrying cannot help (bad input, bad token, malformed model output),
// RetryAfterError when the thrower knows when to come back (rate limit, full bridge queue). Anything
// else is returned unchanged and takes Inngest's normal retry with backoff. ErrorMiddleware
// (middleware.ts) applies it to every step body and handler, so functions never call it themselves.
import { NonRetriableError, RetryAfterError } from "inngest";
import { isDomainError } from "../lib/errors.ts";

export function toInngestError(err: unknown): unknown {
  if (!isDomainError(err)) return err;
  // Not retryable wins over a delay: a delay must never revive an error that cannot heal.
  if (!err.retryable) return new NonRetriableError(err.message, { cause: err });
  if (err.retryAfterMs !== undefined)
    return new RetryAfterError(err.message, err.retryAfterMs, { cause: err });
  return err;
}
