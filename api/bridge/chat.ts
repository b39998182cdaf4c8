// POST /v1/chat/completions admission: read and check the body (size, JSON, model), refuse while
// shutting down or with no upstream in service, then wait for a slot (FIFO, bounded, timed) and hand
// the request to the relay. Bad input never costs a slot and is never forwarded upstream.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestAccount } from "./accounting.ts";
import { parseChatRequest } from "./chat-request.ts";
import { noUpstream, type RelayContext, relayChat } from "./relay.ts";
import { readBody, sendError, sendUnavailable } from "./respond.ts";
import { type Release, SlotError, type Slots } from "./slots.ts";

export interface ChatContext extends RelayContext {
  readonly slots: Slots;
  readonly maxBodyBytes: number;
  readonly retryAfterS: number;
  readonly isDraining: () => boolean;
}

const REFUSALS = {
  queue_full: "Every slot is busy and the queue is full; retry after the delay in Retry-After.",
  queue_timeout: "Waited too long for a free slot; retry after the delay in Retry-After.",
  closed: "The bridge is shutting down; retry after the delay in Retry-After.",
} as const;

export async function handleChat(
  ctx: ChatContext,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
  requestId: string,
  account: RequestAccount,
): Promise<void> {
  const read = await readBody(req, ctx.maxBodyBytes);
  if (!read.ok) return sendError(res, read.reply);
  const parsed = parseChatRequest(read.body);
  if (!parsed.ok) return sendError(res, parsed.reply);
  account.model = parsed.request.model;
  account.stream = parsed.request.stream === true;
  if (ctx.isDraining()) return sendUnavailable(res, "shutting_down", REFUSALS.closed, ctx.retryAfterS);
  if (ctx.pool.serving().length === 0) return noUpstream(ctx.pool, res);

  const waitStart = performance.now();
  let release: Release;
  try {
    release = await ctx.slots.acquire(signal);
  } catch (err) {
    if (!(err instanceof SlotError)) throw err;
    if (err.reason === "aborted") return; // the client left while queued: nobody to answer
    const code = err.reason === "closed" ? "shutting_down" : err.reason;
    return sendUnavailable(res, code, REFUSALS[err.reason], ctx.retryAfterS);
  }
  account.queueWaitMs = performance.now() - waitStart;
  try {
    await relayChat(ctx, res, { raw: read.body, request: parsed.request, requestId, signal, account });
  } finally {
    release();
  }
}
