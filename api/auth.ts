// Bearer-token auth for the JSON API, compared in constant time: both sides are SHA-256 digests (equal
// length whatever was sent), hashed synchronously — WebCrypto's async digest costs a thread-pool round
// trip per request, which the intake benchmark showed as a sixth of the server's CPU.
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./env.ts";
import { errorResponse } from "./errors.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();
const expectedDigests = new Map<string, Buffer>();
const digestOfExpected = (token: string) => {
  let d = expectedDigests.get(token);
  if (!d) {
    d = digest(token);
    expectedDigests.set(token, d);
  }
  return d;
};

/** Constant time whatever was sent: both sides are SHA-256 digests of equal length. */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(digest(given), digest(expected));

export const bearerAuth = (): MiddlewareHandler<AppEnv> => async (c, next) => {
  const expected = c.get("deps").config.FOREMAN_API_TOKEN;
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const unauthorized = (message: string) =>
    errorResponse(
      c,
      401,
      "UNAUTHORIZED",
      message,
      { field: "Authorization" },
      { "www-authenticate": "Bearer" },
    );
  if (!expected) return unauthorized("The API token is not configured on this server (FOREMAN_API_TOKEN).");
  if (!match?.[1]) return unauthorized("Missing bearer token: send 'Authorization: Bearer <token>'.");
  if (!timingSafeEqual(digest(match[1]), digestOfExpected(expected)))
    return unauthorized("Invalid bearer token.");
  await next();
  return undefined;
};
