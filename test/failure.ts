// The DomainError a promise rejects with — for tests that look at its code, retryability and fields.
// A resolve, or any other error, fails the test with what happened instead.
import { DomainError } from "../lib/errors.ts";

export async function failure(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof DomainError)) throw new Error(`expected a DomainError, got ${String(err)}`);
  return err;
}
