// The bridge's HTTP edge helpers: the one OpenAI-style error body every refusal uses
// ({ "error": { message, type, param, code } }, what OpenAI SDKs parse), JSON replies, and a request
// body reader with a hard size limit so an oversized body is refused before it is buffered.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

export type ErrorType = "invalid_request_error" | "authentication_error" | "server_error" | "upstream_error";

export interface BridgeErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export interface ErrorReply {
  status: number;
  type: ErrorType;
  code: string;
  message: string;
  param?: string;
  headers?: OutgoingHttpHeaders;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: OutgoingHttpHeaders,
): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, e: ErrorReply): void {
  const body: BridgeErrorBody = {
    error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code },
  };
  sendJson(res, e.status, body, e.headers);
}

/** 503 with Retry-After: the bridge cannot take the request now; the caller should come back. */
export function sendUnavailable(
  res: ServerResponse,
  code: string,
  message: string,
  retryAfterS: number,
): void {
  sendError(res, {
    status: 503,
    type: "server_error",
    code,
    message,
    headers: { "retry-after": String(Math.max(1, Math.ceil(retryAfterS))) },
  });
}

export type BodyResult = { ok: true; body: Buffer } | { ok: false; reply: ErrorReply };

const tooLarge = (limit: number): BodyResult => ({
  ok: false,
  reply: {
    status: 413,
    type: "invalid_request_error",
    code: "body_too_large",
    message: `Request body is larger than ${limit} bytes.`,
    // The unread rest of the body is abandoned, so this connection cannot be reused.
    headers: { connection: "close" },
  },
});

/** Reads the request body, refusing (without buffering the rest) once it exceeds `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) return Promise.resolve(tooLarge(limit));
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.pause();
        resolve(tooLarge(limit));
      } else chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () =>
      resolve({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }),
    );
    req.on("error", () =>
      resolve({
        ok: false,
        reply: {
          status: 400,
          type: "invalid_request_error",
          code: "body_unreadable",
          message: "Request body could not be read.",
        },
      }),
    );
  });
}
