// The CRM write seam (DESIGN §7, dry-run). Every side-effecting HubSpot call a tool makes goes through a
// CrmWriter. There are two implementations and they share the request code (sdk-calls.ts): the live
// writer sends it through the real @hubspot/api-client; the recording twin runs the very same SDK call
// with a transport that captures the request instead of sending it, and answers WOULD_DO with the exact
// method, path and body HubSpot would have received. Reads never go through here — they always hit the
// real client (or the fake in tests), in dry-run too.

export interface WouldDo {
  method: string;
  /** Path and query as sent, without the base URL (e.g. `/crm/v3/properties/tickets`). */
  path: string;
  /** The JSON body the SDK would send, parsed. */
  body?: unknown;
}

export type WriteOutcome<T> = { kind: "done"; value: T } | { kind: "would_do"; request: WouldDo };

export const PROPERTY_TYPES = ["string", "number", "date", "datetime", "enumeration", "bool"] as const;
export const FIELD_TYPES = [
  "text",
  "textarea",
  "date",
  "file",
  "number",
  "select",
  "radio",
  "checkbox",
  "booleancheckbox",
  "calculation_equation",
] as const;

export interface PropertyDraft {
  name: string;
  label: string;
  type: (typeof PROPERTY_TYPES)[number];
  fieldType: (typeof FIELD_TYPES)[number];
  groupName: string;
  description?: string;
  hasUniqueValue?: boolean;
  options?: { label: string; value: string; description?: string; displayOrder?: number; hidden: boolean }[];
}

export interface StageDraft {
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}

export interface NoteDraft {
  body: string;
  /** ISO time of the note (HubSpot's required `hs_timestamp`). */
  timestamp: string;
  associations: { objectId: string; associationTypeId: number }[];
}

export interface CreatedProperty {
  name: string;
  label: string;
  type: string;
  fieldType: string;
  groupName: string;
}
export interface UpdatedRecord {
  id: string;
  properties: Record<string, string | null>;
}
export interface CreatedStage {
  id: string;
  label: string;
  displayOrder: number;
  metadata: Record<string, string>;
}

export interface CrmWriter {
  /** `live` sends; `recording` never makes an HTTP call and answers `would_do`. */
  readonly mode: "live" | "recording";
  createProperty(objectType: string, property: PropertyDraft): Promise<WriteOutcome<CreatedProperty>>;
  updateRecord(
    objectType: string,
    id: string,
    properties: Record<string, string>,
  ): Promise<WriteOutcome<UpdatedRecord>>;
  createPipelineStage(
    objectType: string,
    pipelineId: string,
    stage: StageDraft,
  ): Promise<WriteOutcome<CreatedStage>>;
  addNote(note: NoteDraft): Promise<WriteOutcome<{ id: string }>>;
}
