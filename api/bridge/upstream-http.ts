// HTTP to the inference servers: node:http(s) with keep-alive agents, one AbortSignal per request,
// an idle timeout and a connect timeout, and failures classified so the caller can tell "never
// reached it" (safe to send elsewhere) from "it died while working on the request" (502, the caller
// retries).
// node:http rather than fetch: no WHATWG stream conversion on the hot path, and the upstream body
// can be piped to the client response as it is.
import http, { type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import https from "node:https";

/**
 * connect: the request never reached the upstream (refused, unknown host, no connection within the
 * connect timeout) — safe to try another.
 * timeout: no byte from the upstream for timeoutMs. reset: the connection died mid-exchange.
 * aborted: our own signal fired (the client went away or the bridge is shutting down).
 */
export type UpstreamFailure = "connect" | "timeout" | "reset" | "aborted";

export class UpstreamError extends Error {
  readonly kind: UpstreamFailure;
  constructor(kind: UpstreamFailure, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "UpstreamError";
    this.kind = kind;
  }
}

const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

export function classify(err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.name === "AbortError") return new UpstreamError("aborted", "request aborted", err);
  const code = e?.code ?? "";
  if (CONNECT_CODES.has(code)) return new UpstreamError("connect", `cannot connect (${code})`, err);
  return new UpstreamError("reset", `connection lost (${code || e?.message || "unknown"})`, err);
}

/** A parsed upstream base URL, so the hot path does not re-parse strings. */
export interface Target {
  readonly secure: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly basePath: string;
}

export function toTarget(baseUrl: string): Target {
  const u = new URL(baseUrl);
  const secure = u.protocol === "https:";
  return {
    secure,
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port ? Number(u.port) : secure ? 443 : 80,
    basePath: u.pathname.replace(/\/+$/, ""),
  };
}

export interface UpstreamRequest {
  method: "GET" | "POST";
  path: string;
  headers: OutgoingHttpHeaders;
  body?: Buffer;
  signal?: AbortSignal;
  /** Idle timeout: the longest silence allowed from the upstream, headers and body alike. */
  timeoutMs: number;
}

// Idle kept-alive sockets are dropped after 4 s, before the usual 5 s server keep-alive timeout
// (uvicorn, llama.cpp, Node), so a request is not written onto a socket the server is closing. A reset
// is never replayed: the bridge cannot tell a stale socket from a server that died on the request.
const AGENT = { keepAlive: true, scheduling: "lifo", timeout: 4_000 } as const;

export interface UpstreamClientOptions {
  /**
   * The longest wait for a TCP connection. A host that drops SYNs (down behind a firewall, a dead
   * route) never refuses, so without it a request waits out the idle timeout — minutes — and then
   * fails with a 504 instead of moving to the next upstream, though it reached nobody.
   */
  connectTimeoutMs: number;
}

export class UpstreamClient {
  readonly #http = new http.Agent(AGENT);
  readonly #https = new https.Agent(AGENT);
  readonly #connectTimeoutMs: number;

  constructor(opts: UpstreamClientOptions) {
    this.#connectTimeoutMs = opts.connectTimeoutMs;
  }

  /** Resolves with the response once headers arrive; rejects with a classified UpstreamError. */
  request(target: Target, r: UpstreamRequest): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = (target.secure ? https : http).request(
        {
          hostname: target.hostname,
          port: target.port,
          path: target.basePath + r.path,
          method: r.method,
          headers: r.headers,
          agent: target.secure ? this.#https : this.#http,
          signal: r.signal,
          timeout: r.timeoutMs,
        },
        (res) => {
          response = res;
          resolve(res);
        },
      );
      req.on("socket", (socket) => {
        if (!socket.connecting) return; // a kept-alive socket is already connected
        const timer = setTimeout(() => {
          req.destroy(new UpstreamError("connect", `no connection within ${this.#connectTimeoutMs} ms`));
        }, this.#connectTimeoutMs);
        const clear = () => clearTimeout(timer);
        socket.once("connect", clear);
        socket.once("close", clear);
      });
      req.on("timeout", () => {
        // Destroying the response with a typed error lets a body reader report "timeout", not "reset".
        const err = new UpstreamError("timeout", `nothing from the upstream for ${r.timeoutMs} ms`);
        response?.destroy(err);
        req.destroy(err);
      });
      req.on("error", (err) => reject(classify(err)));
      req.end(r.body);
    });
  }

  /** Reads a whole (small) response body; rejects with a classified UpstreamError if it breaks. */
  static readBody(res: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) res.destroy(new UpstreamError("reset", `response larger than ${limit} bytes`));
        else chunks.push(chunk);
      });
      res.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
      res.on("error", (err) => reject(classify(err)));
      res.on("close", () => {
        if (!res.complete) reject(new UpstreamError("reset", "upstream closed the connection mid-response"));
      });
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}
