// Bearer-token auth for the JSON API, compared in constant time.
import type { MiddlewareHandler } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "./env.ts";
import { errorResponse } from "./errors.ts";

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
  if (!(await timingSafeEqual(match[1], expected))) return unauthorized("Invalid bearer token.");
  await next();
  return undefined;
};
