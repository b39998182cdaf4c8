// The recording twin of the live CrmWriter, and what dry-run uses in production (DESIGN §7). It builds
// the same SDK API classes the client builds, but over a transport that captures the request and
// never sends it: the SDK's own request factory and serializer produce the method, path and body, so a
// WOULD_DO is byte-for-byte what the live writer would have sent (dry-run.test.ts checks it
// against the fake). No credentials go in: the captured request carries no Authorization header.
import * as objects from "@hubspot/api-client/lib/codegen/crm/objects/index.js";
import * as notes from "@hubspot/api-client/lib/codegen/crm/objects/notes/index.js";
import * as pipelines from "@hubspot/api-client/lib/codegen/crm/pipelines/index.js";
import * as properties from "@hubspot/api-client/lib/codegen/crm/properties/index.js";
import { CAPTURE_BASE, capture, capturedRequest } from "./capture.ts";
import { type CrmApis, sdkCalls } from "./sdk-calls.ts";
import type { CrmWriter, WriteOutcome } from "./writer.ts";

// Each SDK module has its own (structurally identical, nominally distinct) configuration, server and
// Observable types, hence one configuration per module.
const apis: CrmApis = {
  properties: new properties.CoreApi(
    properties.createConfiguration({
      baseServer: new properties.ServerConfiguration(CAPTURE_BASE, {}),
      httpApi: { send: (r) => new properties.Observable(capture(r)) },
    }),
  ),
  objects: new objects.BasicApi(
    objects.createConfiguration({
      baseServer: new objects.ServerConfiguration(CAPTURE_BASE, {}),
      httpApi: { send: (r) => new objects.Observable(capture(r)) },
    }),
  ),
  stages: new pipelines.PipelineStagesApi(
    pipelines.createConfiguration({
      baseServer: new pipelines.ServerConfiguration(CAPTURE_BASE, {}),
      httpApi: { send: (r) => new pipelines.Observable(capture(r)) },
    }),
  ),
  notes: new notes.BasicApi(
    notes.createConfiguration({
      baseServer: new notes.ServerConfiguration(CAPTURE_BASE, {}),
      httpApi: { send: (r) => new notes.Observable(capture(r)) },
    }),
  ),
};

const record = async <T>(call: () => Promise<unknown>): Promise<WriteOutcome<T>> => ({
  kind: "would_do",
  request: await capturedRequest(call, "recording CrmWriter"),
});

export function recordingCrmWriter(): CrmWriter {
  return {
    mode: "recording",
    createProperty: (objectType, p) => record(() => sdkCalls.createProperty(apis, objectType, p)),
    updateRecord: (objectType, id, props) => record(() => sdkCalls.updateRecord(apis, objectType, id, props)),
    createPipelineStage: (objectType, pipelineId, stage) =>
      record(() => sdkCalls.createPipelineStage(apis, objectType, pipelineId, stage)),
    addNote: (note) => record(() => sdkCalls.addNote(apis, note)),
  };
}
