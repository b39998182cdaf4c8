// The capturing transport of the dry-run twins (recording-writer.ts for the tools, lib/crm/would-do.ts
// for the ticket sync): an SDK configuration's `send` that rejects with the request it was given, so
// the SDK's own request factory and serializer build the WOULD_DO — method, path and query, JSON body —
// and nothing reaches the network.
import type { WouldDo } from "./writer.ts";

// Any base works (only the path is kept); HubSpot's keeps the captured URL honest in logs.
export const CAPTURE_BASE = "https://api.hubapi.com";

interface CapturedRequest {
  getHttpMethod(): string;
  getUrl(): string;
  getBody(): unknown;
}

class Captured {
  readonly request: CapturedRequest;
  constructor(request: CapturedRequest) {
    this.request = request;
  }
}

/** The `send` of a capturing configuration (wrap it in the SDK module's own Observable). */
export const capture = (request: CapturedRequest): Promise<never> => Promise.reject(new Captured(request));

/** Runs an SDK call over a capturing configuration and returns the request it would have sent. */
export async function capturedRequest(call: () => Promise<unknown>, who: string): Promise<WouldDo> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof Captured)) throw err;
    const url = new URL(err.request.getUrl());
    const raw = err.request.getBody();
    const request: WouldDo = { method: err.request.getHttpMethod(), path: url.pathname + url.search };
    if (typeof raw === "string" && raw !== "") request.body = JSON.parse(raw);
    return request;
  }
  throw new Error(`${who}: the SDK call completed without reaching the transport`);
}
