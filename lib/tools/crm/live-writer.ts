// The live CrmWriter: the real @hubspot/api-client. Each method checks nothing itself — HubSpot does —
// and maps SDK failures to DomainError (fromHubSpotError), so the tool executor can tell a refusal the
// model should see (400/404/409) from an outage Inngest should retry (429/5xx/network).
import type { HubSpotClient } from "../../hubspot/client.ts";
import { fromHubSpotError } from "../../hubspot/errors.ts";
import { type CrmApis, sdkCalls } from "./sdk-calls.ts";
import type { CrmWriter, WriteOutcome } from "./writer.ts";

export const crmApisOf = (client: HubSpotClient): CrmApis => ({
  properties: client.crm.properties.coreApi,
  objects: client.crm.objects.basicApi,
  stages: client.crm.pipelines.pipelineStagesApi,
  notes: client.crm.objects.notes.basicApi,
});

async function done<T, R>(what: string, call: Promise<R>, pick: (r: R) => T): Promise<WriteOutcome<T>> {
  try {
    return { kind: "done", value: pick(await call) };
  } catch (err) {
    throw fromHubSpotError(err, what);
  }
}

export function liveCrmWriter(client: HubSpotClient): CrmWriter {
  const apis = crmApisOf(client);
  return {
    mode: "live",
    createProperty: (objectType, p) =>
      done(`The ${objectType} property ${p.name}`, sdkCalls.createProperty(apis, objectType, p), (r) => ({
        name: r.name,
        label: r.label,
        type: r.type,
        fieldType: r.fieldType,
        groupName: r.groupName,
      })),
    updateRecord: (objectType, id, properties) =>
      done(
        `The ${objectType} record ${id}`,
        sdkCalls.updateRecord(apis, objectType, id, properties),
        (r) => ({
          id: r.id,
          properties: r.properties,
        }),
      ),
    createPipelineStage: (objectType, pipelineId, stage) =>
      done(
        `The ${objectType} pipeline ${pipelineId}`,
        sdkCalls.createPipelineStage(apis, objectType, pipelineId, stage),
        (r) => ({ id: r.id, label: r.label, displayOrder: r.displayOrder, metadata: r.metadata ?? {} }),
      ),
    addNote: (note) =>
      done("A record the note is associated with", sdkCalls.addNote(apis, note), (r) => ({ id: r.id })),
  };
}
