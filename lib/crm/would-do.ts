// The dry-run twin of the ticket writes: the very SDK call the live sync would make (tickets.ts
// singleCall), run over a transport that captures the request instead of sending it — the method, path
// and query, and JSON body HubSpot would have received, with no credentials and no network.
import * as tickets from "@hubspot/api-client/lib/codegen/crm/tickets/index.js";
import type { WouldDo } from "../tools/crm/writer.ts";
import { type Apis, singleCall, type TicketRow } from "./tickets.ts";

// Any base works (only the path is kept); HubSpot's keeps the captured URL honest in logs.
const BASE = "https://api.hubapi.com";

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
const configuration = () =>
  tickets.createConfiguration({
    baseServer: new tickets.ServerConfiguration(BASE, {}),
    httpApi: { send: (r) => new tickets.Observable(Promise.reject(new Captured(r))) },
  });
const recordingApis: Apis = {
  basic: new tickets.BasicApi(configuration()),
  batch: new tickets.BatchApi(configuration()),
};

/** The exact request a single write would send (method, path and query, JSON body); nothing is sent. */
export async function wouldDo(row: TicketRow): Promise<WouldDo> {
  try {
    await singleCall(recordingApis, row);
  } catch (err) {
    if (!(err instanceof Captured)) throw err;
    const url = new URL(err.request.getUrl());
    const raw = err.request.getBody();
    const request: WouldDo = { method: err.request.getHttpMethod(), path: url.pathname + url.search };
    if (typeof raw === "string" && raw !== "") request.body = JSON.parse(raw);
    return request;
  }
  throw new Error("crm wouldDo: the SDK call completed without reaching the transport");
}
