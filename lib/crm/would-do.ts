// The dry-run twin of the ticket writes: the very SDK call the live sync would make (tickets.ts
// singleCall), run over a transport that captures the request instead of sending it — the method, path
// and query, and JSON body HubSpot would have received, with no credentials and no network.
import * as tickets from "@hubspot/api-client/lib/codegen/crm/tickets/index.js";
import { CAPTURE_BASE, capture, capturedRequest } from "../tools/crm/capture.ts";
import type { WouldDo } from "../tools/crm/writer.ts";
import { type Apis, singleCall, type TicketRow } from "./tickets.ts";

const configuration = () =>
  tickets.createConfiguration({
    baseServer: new tickets.ServerConfiguration(CAPTURE_BASE, {}),
    httpApi: { send: (r) => new tickets.Observable(capture(r)) },
  });
const recordingApis: Apis = {
  basic: new tickets.BasicApi(configuration()),
  batch: new tickets.BatchApi(configuration()),
};

/** The exact request a single write would send (method, path and query, JSON body); nothing is sent. */
export const wouldDo = (row: TicketRow): Promise<WouldDo> =>
  capturedRequest(() => singleCall(recordingApis, row), "crm wouldDo");
