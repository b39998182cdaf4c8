// The recording twin of the live CrmWriter, and what dry-run uses in production (DESIGN §7). It builds
// the same SDK API classes the client builds, but over a transport that captures the request and
// never sends it: the SDK's own request factory and serializer produce the method, path and body, so a
// WOULD_DO is byte-for-byte what the live writer would have sent (dry-run.test.ts checks it
// against the fake). No credentials go in: the captured request carries no Authorization header.
import * as objects from "@hubspot/api-client/lib/codegen/crm/objects/index.js";
import * as notes from "@hubspot/api-client/lib/codegen/crm/objects/notes/index.js";
import * as pipelines from "@hubspot/api-client/lib/codegen/crm/pipelines/index.js";
import * as properties from "@hubspot/api-client/lib/codegen/crm/properties/index.js";
import { type CrmApis, sdkCalls } from "./sdk-calls.ts";
import type { CrmWriter, WouldDo, WriteOutcome } from "./writer.ts";

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

const capture = (request: CapturedRequest): Promise<never> => Promise.reject(new Captured(request));

// Each SDK module has its own (structurally identical, nominally distinct) configuration, server and
// Observable types, hence one configuration per module.
const apis: CrmApis = {
  properties: new properties.CoreApi(
    properties.createConfiguration({
      baseServer: new properties.ServerConfiguration(BASE, {}),
      httpApi: { send: (r) => new properties.Observable(capture(r)) },
    }),
  ),
  objects: new objects.BasicApi(
    objects.createConfiguration({
      baseServer: new objects.ServerConfiguration(BASE, {}),
      httpApi: { send: (r) => new objects.Observable(capture(r)) },
    }),
  ),
  stages: new pipelines.PipelineStagesApi(
    pipelines.createConfiguration({
      baseServer: new pipelines.ServerConfiguration(BASE, {}),
      httpApi: { send: (r) => new pipelines.Observable(capture(r)) },
    }),
  ),
  notes: new notes.BasicApi(
    notes.createConfiguration({
      baseServer: new notes.ServerConfiguration(BASE, {}),
      httpApi: { send: (r) => new notes.Observable(capture(r)) },
    }),
  ),
};

async function record<T>(call: Promise<unknown>): Promise<WriteOutcome<T>> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof Captured)) throw err;
    const url = new URL(err.request.getUrl());
    const raw = err.request.getBody();
    const request: WouldDo = { method: err.request.getHttpMethod(), path: url.pathname + url.search };
    if (typeof raw === "string" && raw !== "") request.body = JSON.parse(raw);
    return { kind: "would_do", request };
  }
  throw new Error("recording CrmWriter: the SDK call completed without reaching the transport");
}

export function recordingCrmWriter(): CrmWriter {
  return {
    mode: "recording",
    createProperty: (objectType, p) => record(sdkCalls.createProperty(apis, objectType, p)),
    updateRecord: (objectType, id, props) => record(sdkCalls.updateRecord(apis, objectType, id, props)),
    createPipelineStage: (objectType, pipelineId, stage) =>
      record(sdkCalls.createPipelineStage(apis, objectType, pipelineId, stage)),
    addNote: (note) => record(sdkCalls.addNote(apis, note)),
  };
}
