// Bearer-token check for every route but /health. Several tokens may be valid at once so they can be
// rotated without downtime (add the new one, move the callers, drop the old one). Tokens are compared
// as SHA-256 digests with timingSafeEqual, and every configured token is compared on every request,
// so neither the length nor the position of a match leaks through timing.
import { hash, timingSafeEqual } from "node:crypto";

const digest = (s: string) => hash("sha256", s, "buffer");

export function createAuth(tokens: readonly string[]): (authorization: string | undefined) => boolean {
  const digests = tokens.map(digest);
  return (authorization) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    const presented = digest(match?.[1] ?? "");
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, presented) || ok;
    return ok && match !== null;
  };
}
