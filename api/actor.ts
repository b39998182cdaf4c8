// Who the audit names for an API command. The bearer token is the authority, and there is one; the
// optional `Foreman-Actor` header says which person behind it acted (the CLI sends the login name), so
// the event log reads `api:alice` rather than just `api`. It is self-declared, so it is recorded as
// what the caller said, never used to grant anything.
import { DomainError } from "../lib/errors.ts";

/** The names `Foreman-Actor` may carry (the CLI sends the login name only when it fits). */
export const ACTOR_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;

/** The person `Foreman-Actor` names, or undefined when the header is absent. */
export function personOf(req: Request): string | undefined {
  const name = req.headers.get("foreman-actor");
  if (name === null || name === "") return undefined;
  if (!ACTOR_NAME.test(name)) {
    throw new DomainError(
      "VALIDATION",
      "Foreman-Actor must be 1–64 letters, digits or . _ @ + - (a login name or an email).",
      { field: "Foreman-Actor" },
    );
  }
  return name;
}

export function actorOf(req: Request): string {
  const name = personOf(req);
  return name === undefined ? "api" : `api:${name}`;
}
