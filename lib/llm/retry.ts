// The function edge for model calls: inside a step.run body, a DomainError becomes what Inngest acts
// on — NonRetriableError when retrying cannot help (bad token, malformed output), RetryAfterError when
// the server said when to come back (full bridge queue, rate limit). Everything else is returned
// unchanged and takes Inngest's normal retry with backoff.
import { NonRetriableError, RetryAfterError } from "inngest";
import { isDomainError } from "../errors.ts";

export function toInngestError(err: unknown): unknown {
  if (!isDomainError(err)) return err;
  // Not retryable wins over a delay: a delay must never revive an error that cannot heal.
  if (!err.retryable) return new NonRetriableError(err.message, { cause: err });
  if (err.retryAfterMs !== undefined)
    return new RetryAfterError(err.message, err.retryAfterMs, { cause: err });
  return err;
}

/** Runs `fn` and rethrows its failure through toInngestError: `step.run(id, () => withInngestErrors(...))`. */
export async function withInngestErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toInngestError(err);
  }
}
