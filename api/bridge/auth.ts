// Bearer-token check for every route but /health. Several tokens may be valid at once so they can be
// rotated without downtime (add the new one, move the callers, drop the old one). Tokens are compared
// as SHA-256 digests with timingSafeEqual, and every configured token is compared on every request,
// so neither the length nor the position of a match leaks through timing. A match answers with the
// token's caller id (accounting.ts: a short label derived from the token, never the token itself).
import { hash, timingSafeEqual } from "node:crypto";
import { callerId } from "./accounting.ts";

const digest = (s: string) => hash("sha256", s, "buffer");

/** Returns the caller id of the presented token, or undefined when it is missing or wrong. */
export function createAuth(
  tokens: readonly string[],
): (authorization: string | undefined) => string | undefined {
  const known = tokens.map((t) => ({ digest: digest(t), caller: callerId(t) }));
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const presented = digest(match?.[1] ?? "");
    let caller: string | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, presented)) caller = k.caller;
    return match !== null ? caller : undefined;
  };
}
