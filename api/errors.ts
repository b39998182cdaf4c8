// The HTTP error tier: one body shape for every failure, `{ error: { code, message, requestId, … } }`,
// and one mapping from DomainError codes (and zod / Hono errors) to statuses. Unknown errors become a
// generic 500; their cause is logged, never echoed.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ZodError } from "zod";
import { type ErrorCode, isDomainError } from "../lib/errors.ts";
import type { AppEnv } from "./env.ts";

const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_TRANSITION: 409,
  LIMIT_EXCEEDED: 413,
  RATE_LIMITED: 429,
  UPSTREAM: 502,
  UNAVAILABLE: 503,
  CONFIG: 500,
};

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    requestId: string;
    field?: string;
    details?: Record<string, unknown>;
  };
}

export function errorResponse(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  extra: { field?: string | undefined; details?: Record<string, unknown> | undefined } = {},
  headers: Record<string, string> = {},
) {
  const body: ErrorBody = { error: { code, message, requestId: c.get("requestId") ?? "" } };
  if (extra.field !== undefined) body.error.field = extra.field;
  if (extra.details !== undefined) body.error.details = extra.details;
  return c.json(body, status, headers);
}

const pathOf = (path: readonly PropertyKey[]): string => path.map(String).join(".") || "body";

export function zodErrorResponse(c: Context<AppEnv>, err: ZodError, where = "") {
  const issues = err.issues.map((i) => {
    // Unknown keys carry their names in `keys`, not in `path`.
    const keys = "keys" in i && Array.isArray(i.keys) ? (i.keys as string[]) : [];
    const field = keys.length > 0 ? [...i.path, keys[0] as string] : i.path;
    return { field: `${where}${pathOf(field)}`, message: i.message };
  });
  const first = issues[0] ?? { field: "body", message: "invalid" };
  const message = issues.map((i) => `${i.field}: ${i.message}`).join("; ");
  return errorResponse(c, 400, "VALIDATION", message, { field: first.field, details: { issues } });
}

export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof ZodError) return zodErrorResponse(c, err);
  if (isDomainError(err)) {
    const headers: Record<string, string> = {};
    if (err.retryAfterMs !== undefined) headers["retry-after"] = String(Math.ceil(err.retryAfterMs / 1000));
    return errorResponse(
      c,
      STATUS[err.code],
      err.code,
      err.message,
      { field: err.field, details: err.details },
      headers,
    );
  }
  if (err instanceof HTTPException) {
    return errorResponse(c, err.status as ContentfulStatusCode, "HTTP", err.message || "request failed");
  }
  const deps = c.get("deps");
  const log = deps?.logger.error ?? ((m: string, f?: Record<string, unknown>) => console.error(m, f));
  log("unhandled error", { requestId: c.get("requestId"), error: String(err), stack: err.stack });
  return errorResponse(c, 500, "INTERNAL", "Internal error; the request id identifies it in the logs.");
}
