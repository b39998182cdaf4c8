// One chat completion's trip upstream, once it holds a slot: pick an upstream, send the body, and
// relay the answer — buffered for JSON (so usage is read and a mid-body death is still a clean 502),
// byte for byte for SSE (less the usage chunk the bridge asked for on the client's behalf). Requests that never reached an upstream move to the next one; requests that
// did are never replayed (the caller decides), and every outcome is scored on the upstream pool.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { finished } from "node:stream";
import type { RequestAccount } from "./accounting.ts";
import { type ChatRequest, needsUsageInjection, upstreamBody } from "./chat-request.ts";
import { sendError, sendUnavailable } from "./respond.ts";
import { classify, UpstreamClient, type UpstreamError } from "./upstream-http.ts";
import type { FailureReason, Upstream, UpstreamPool } from "./upstreams.ts";
import { SseUsageSniffer, SseUsageStripper, type Usage, usageFromJson } from "./usage.ts";

export interface RelayContext {
  readonly pool: UpstreamPool;
  readonly client: UpstreamClient;
  readonly timeoutMs: number;
  /** Extra headers for every upstream request (its own API key, when it has one). */
  readonly upstreamHeaders: Readonly<Record<string, string>>;
}

export interface Exchange {
  readonly raw: Buffer;
  readonly request: ChatRequest;
  readonly requestId: string;
  /** Fires when the client leaves or the bridge stops waiting: the upstream request is torn down. */
  readonly signal: AbortSignal;
  /** Filled in as the request is served: the upstream used and the tokens it reported. */
  readonly account: RequestAccount;
}

type Outcome = "done" | "try-another";

// Hop-by-hop headers describe one connection, not the message; content-length is recomputed.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "te",
  "trailer",
  "upgrade",
]);

export async function relayChat(ctx: RelayContext, res: ServerResponse, ex: Exchange): Promise<void> {
  const tried = new Set<Upstream>();
  for (;;) {
    // Only refused connections lead here twice, so the request reached nobody: 503, not 502.
    const u = ctx.pool.pick(tried);
    if (!u) return noUpstream(ctx.pool, res);
    u.inFlight += 1;
    let outcome: Outcome;
    try {
      outcome = await exchange(ctx, u, res, ex);
    } finally {
      u.inFlight -= 1;
    }
    if (outcome === "done") return;
    tried.add(u);
  }
}

export function noUpstream(pool: UpstreamPool, res: ServerResponse): void {
  sendUnavailable(
    res,
    "no_upstream",
    "No upstream inference server is in service.",
    pool.msUntilNextRetry() / 1000,
  );
}

async function exchange(ctx: RelayContext, u: Upstream, res: ServerResponse, ex: Exchange): Promise<Outcome> {
  const injectUsage = needsUsageInjection(ex.request);
  const body = upstreamBody(ex.raw, ex.request, u.guidedJson, injectUsage);
  ex.account.upstream = u.url;
  let upstream: IncomingMessage;
  try {
    upstream = await ctx.client.request(u.target, {
      method: "POST",
      path: "/v1/chat/completions",
      headers: {
        ...ctx.upstreamHeaders,
        "content-type": "application/json",
        "content-length": body.length,
        "accept-encoding": "identity",
        "x-request-id": ex.requestId,
      },
      body,
      signal: ex.signal,
      timeoutMs: ctx.timeoutMs,
    });
  } catch (err) {
    const e = classify(err);
    if (e.kind === "aborted" || ex.signal.aborted) return "done";
    ctx.pool.recordFailure(u, reasonOf(e), e.message);
    if (e.kind === "connect") return "try-another";
    failed(res, e);
    return "done";
  }
  const headers = passHeaders(upstream.headers, ex.requestId);
  const status = upstream.statusCode ?? 502;
  if (String(upstream.headers["content-type"]).startsWith("text/event-stream")) {
    await relayStream(ctx, u, upstream, res, ex, status, headers, injectUsage);
  } else {
    await relayBuffered(ctx, u, upstream, res, ex, status, headers);
  }
  return "done";
}

async function relayBuffered(
  ctx: RelayContext,
  u: Upstream,
  upstream: IncomingMessage,
  res: ServerResponse,
  ex: Exchange,
  status: number,
  headers: OutgoingHttpHeaders,
): Promise<void> {
  let body: Buffer;
  try {
    body = await UpstreamClient.readBody(upstream);
  } catch (err) {
    if (ex.signal.aborted) return;
    const e = classify(err);
    ctx.pool.recordFailure(u, reasonOf(e), e.message);
    return failed(res, e);
  }
  score(ctx.pool, u, status);
  if (status < 300) count(ex.account, usageFromJson(body));
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, "content-length": body.length });
  res.end(body);
}

function relayStream(
  ctx: RelayContext,
  u: Upstream,
  upstream: IncomingMessage,
  res: ServerResponse,
  ex: Exchange,
  status: number,
  headers: OutgoingHttpHeaders,
  strip: boolean,
): Promise<void> {
  res.writeHead(status, headers);
  res.flushHeaders();
  // The client asked for usage (or this is no stream we changed): watch a copy, relay every byte.
  // The bridge asked for it: relay everything but the usage-only chunk the client never wanted.
  const sniffer = strip ? undefined : new SseUsageSniffer();
  const stripper = strip ? new SseUsageStripper() : undefined;
  upstream.on("data", (chunk: Buffer) => {
    let out = chunk;
    if (stripper) {
      out = stripper.push(chunk);
      if (out.length === 0) return;
    } else sniffer?.push(chunk);
    // Backpressure: a slow client slows the upstream read instead of growing a buffer here.
    if (!res.write(out)) {
      upstream.pause();
      res.once("drain", () => upstream.resume());
    }
  });
  return new Promise((resolve) => {
    finished(upstream, (err) => {
      const rest = stripper?.flush();
      if (rest && rest.length > 0 && !ex.signal.aborted) res.write(rest);
      if (!err) {
        score(ctx.pool, u, status);
        count(ex.account, stripper ? stripper.usage : sniffer?.usage);
        res.end();
      } else if (!ex.signal.aborted) {
        // Headers (200) are already out, so the failure is reported the way OpenAI reports one
        // mid-stream: an error event, and no [DONE]. SDKs raise it as an APIError.
        const e = classify(err);
        ctx.pool.recordFailure(u, reasonOf(e), e.message);
        const error = { message: midStreamMessage(e), type: "upstream_error", param: null, code: codeOf(e) };
        res.end(`data: ${JSON.stringify({ error })}\n\n`);
      }
      resolve();
    });
  });
}

function score(pool: UpstreamPool, u: Upstream, status: number): void {
  if (status >= 500) pool.recordFailure(u, "status", `answered ${status}`);
  else pool.recordSuccess(u);
}

function count(account: RequestAccount, usage: Usage | undefined): void {
  if (!usage) return;
  account.usageReported = true;
  account.tokensIn = usage.input;
  account.tokensOut = usage.output;
}

function passHeaders(h: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  out["x-request-id"] = requestId;
  return out;
}

const reasonOf = (e: UpstreamError): FailureReason =>
  e.kind === "connect" || e.kind === "timeout" ? e.kind : "reset";
const codeOf = (e: UpstreamError) => (e.kind === "timeout" ? "upstream_timeout" : "upstream_disconnected");

const midStreamMessage = (e: UpstreamError) =>
  `The upstream inference server failed mid-stream (${e.message}); the response is incomplete. Retry the request.`;

/** The upstream took the request and then failed: 504 for silence, 502 for a dead connection. */
function failed(res: ServerResponse, e: UpstreamError): void {
  const timeout = e.kind === "timeout";
  sendError(res, {
    status: timeout ? 504 : 502,
    type: "upstream_error",
    code: codeOf(e),
    message: timeout
      ? `The upstream inference server sent nothing for too long (${e.message}). Retry the request.`
      : `The upstream inference server failed while handling the request (${e.message}). Retry the request.`,
  });
}
