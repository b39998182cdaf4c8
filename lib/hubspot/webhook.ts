// HubSpot webhook batches: parsing (ids kept as exact digit strings) and classification into what
// foreman records. A body is a JSON array of 1–100 events, in no particular order (sorted here by
// occurredAt). Accepted formats: the classic `ticket.*` subscription types (`eventType` is an alias
// of `subscriptionType` in some of HubSpot's tables) and the generic `object.*` ones with
// `objectTypeId` "0-5" (tickets).
//
//   - ticket creation → a hubspot-sourced task (source_ref = the ticket id). Its `task/submitted`
//     event starts the intake function, which fetches the ticket (subject, content, company) and
//     enriches the task; so no separate `hubspot/ticket.created` event is emitted — it would start
//     the same work twice, and the task row is already the durable record that the ticket arrived.
//   - an `hs_pipeline_stage` property change → a `hubspot/ticket.stage_changed` outbox row whose id
//     comes from HubSpot's composite key portalId:subscriptionId:objectId:eventId:occurredAt:propertyName
//     (HubSpot documents that eventId alone is not unique), so a re-delivery is the same row. Who
//     moved it (`sourceId`, e.g. "userId:1234567", and `changeSource`) travels with it: only the
//     client owner's move to Done is a client stamp (crm-inbound).
//   - everything else (other types, other properties, other object types, other portals, events that
//     do not parse) → ignored, each with its reason; the batch is still acknowledged, because an
//     error answer would make HubSpot re-deliver the same batch for a day.
import { z } from "zod";
import { hubspotTicketStageChanged } from "../events.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { SubmitItem } from "../tasks/submit.ts";
import { cleanText, clipText } from "../text.ts";

export const MAX_EVENTS = 100;
export const TICKET_OBJECT_TYPE_ID = "0-5";
export const STAGE_PROPERTY = "hs_pipeline_stage";
const TITLE_MAX = 200;

/** Fields that carry HubSpot ids: kept as the exact digits sent (objectId may exceed 2^53). */
const ID_FIELDS = new Set(["objectId", "eventId", "subscriptionId", "portalId", "appId"]);

export class WebhookBodyError extends Error {}

/** An id field holding a number a double cannot represent exactly (its digits are in the source text). */
const hasInexactId = (parsed: unknown): boolean =>
  Array.isArray(parsed) &&
  parsed.some((e) => {
    if (e === null || typeof e !== "object") return false;
    for (const key of ID_FIELDS) {
      const v = (e as Record<string, unknown>)[key];
      if (typeof v === "number" && !Number.isSafeInteger(v)) return true;
    }
    return false;
  });

/** Id fields of each event → strings (safe integers print as the digits they were sent as). */
function idsToStrings(events: unknown[]): void {
  for (const e of events) {
    if (e === null || typeof e !== "object") continue;
    const event = e as Record<string, unknown>;
    for (const key of ID_FIELDS) if (typeof event[key] === "number") event[key] = String(event[key]);
  }
}

/** Numbers in id fields → their source digits (JSON.parse's source text access, Node ≥ 21, workerd). */
const keepIdDigits = (key: string, value: unknown, context?: { source?: string }): unknown => {
  if (typeof value !== "number" || !ID_FIELDS.has(key)) return value;
  if (context?.source !== undefined) return context.source;
  // No source text access: only a safe integer is known exactly; anything else fails the schema.
  return Number.isSafeInteger(value) ? String(value) : value;
};

/**
 * Parses a webhook body, keeping HubSpot ids as exact digit strings: `objectId:
 * 18446744073709551615` is not rounded to a double. A plain parse comes first; only a body with an id
 * beyond 2^53 is parsed again with the source-text reviver, which costs ~15× a plain parse.
 * Throws WebhookBodyError when the body is not JSON or not an array of 1–100 objects.
 */
export function parseWebhookBody(text: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new WebhookBodyError(`The body is not valid JSON: ${(err as Error).message}`);
  }
  if (hasInexactId(parsed)) parsed = JSON.parse(text, keepIdDigits);
  else if (Array.isArray(parsed)) idsToStrings(parsed);
  if (!Array.isArray(parsed)) {
    throw new WebhookBodyError("The body must be a JSON array of HubSpot webhook events.");
  }
  if (parsed.length === 0 || parsed.length > MAX_EVENTS) {
    throw new WebhookBodyError(`A webhook batch holds 1 to ${MAX_EVENTS} events (got ${parsed.length}).`);
  }
  const notObject = parsed.findIndex((e) => e === null || typeof e !== "object" || Array.isArray(e));
  if (notObject >= 0) throw new WebhookBodyError(`Event ${notObject} is not a JSON object.`);
  return parsed as Record<string, unknown>[];
}

const digits = z.string().regex(/^\d{1,20}$/, "must be a numeric HubSpot id");
const propertyValue = z.union([z.string(), z.number().transform(String)]);

/** The fields foreman reads from a ticket event; HubSpot's other fields are allowed and ignored. */
const ticketEvent = z.object({
  eventId: digits,
  subscriptionId: digits,
  portalId: digits,
  objectId: digits,
  occurredAt: z.number().int().min(0),
  propertyName: z.string().optional(),
  propertyValue: propertyValue.optional(),
  // Who and how, when HubSpot says; a value of another shape is dropped, never a reason to drop the event.
  sourceId: z.string().min(1).max(200).optional().catch(undefined),
  changeSource: z.string().min(1).max(100).optional().catch(undefined),
});
type TicketEvent = z.infer<typeof ticketEvent>;

export interface IgnoredEvent {
  index: number;
  eventId?: string | undefined;
  type?: string | undefined;
  reason: string;
}

export interface ClassifiedBatch {
  /** One submit item per ticket created, in occurrence order (a ticket repeated in the batch once). */
  items: SubmitItem[];
  /** `hubspot/ticket.stage_changed` outbox rows, in occurrence order, each id once. */
  stageChanges: OutboxMessage[];
  /** Events repeating an earlier one of the same batch (same ticket created, same composite key). */
  repeated: number;
  ignored: IgnoredEvent[];
}

export interface ClassifyOptions {
  /** HUBSPOT_PORTAL_ID: events of other portals are ignored. */
  portalId?: number | undefined;
  actor?: string;
}

type Kind = { kind: "creation" } | { kind: "property" } | { kind: "ignored"; reason: string };

function kindOf(type: string | undefined, objectTypeId: unknown): Kind {
  if (!type) return { kind: "ignored", reason: "no subscriptionType (or eventType)" };
  const [object, action] = type.split(".", 2);
  if (object === "object") {
    if (objectTypeId !== TICKET_OBJECT_TYPE_ID) {
      return {
        kind: "ignored",
        reason: `object type ${JSON.stringify(objectTypeId ?? null)} is not a ticket (${TICKET_OBJECT_TYPE_ID})`,
      };
    }
  } else if (object !== "ticket") {
    return { kind: "ignored", reason: `subscription type ${type} is not about tickets` };
  }
  if (action === "creation") return { kind: "creation" };
  if (action === "propertyChange") return { kind: "property" };
  return { kind: "ignored", reason: `subscription type ${type} is not handled` };
}

const occurredAtOf = (e: Record<string, unknown>): number =>
  typeof e.occurredAt === "number" && Number.isFinite(e.occurredAt) ? e.occurredAt : Number.POSITIVE_INFINITY;

const idOf = (v: unknown): string | undefined =>
  typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;

/** The composite dedupe key HubSpot documents. */
export const compositeKey = (e: TicketEvent): string =>
  [e.portalId, e.subscriptionId, e.objectId, e.eventId, e.occurredAt, e.propertyName ?? ""].join(":");

/** The deterministic outbox / Inngest event id of a stage change. */
export const stageChangeEventId = (e: TicketEvent): string => `hubspot:${compositeKey(e)}`;

function titleOf(e: TicketEvent): string {
  // HubSpot's creation events carry no properties; a `subject` value, when one is sent, is the title —
  // unless nothing readable is left of it, when the placeholder stands (intake reads the real subject
  // from the ticket). One unreadable subject must never refuse the whole batch.
  const raw = e.propertyName === "subject" ? e.propertyValue : undefined;
  const subject = raw === undefined ? "" : cleanText(raw, { multiline: false }).text.trim();
  return subject ? clipText(subject, TITLE_MAX) : `HubSpot ticket ${e.objectId}`;
}

/** Sorts a parsed batch by occurredAt and splits it into tasks to submit, stage changes and the rest. */
export function classifyBatch(
  events: Record<string, unknown>[],
  opts: ClassifyOptions = {},
): ClassifiedBatch {
  const actor = opts.actor ?? "hubspot";
  const order = events.map((event, index) => ({ event, index }));
  order.sort((a, b) => occurredAtOf(a.event) - occurredAtOf(b.event) || a.index - b.index);

  const out: ClassifiedBatch = { items: [], stageChanges: [], repeated: 0, ignored: [] };
  const tickets = new Set<string>();
  const stageIds = new Set<string>();
  for (const { event, index } of order) {
    const rawType = event.subscriptionType ?? event.eventType;
    const type = typeof rawType === "string" ? rawType : undefined;
    const ignore = (reason: string) =>
      out.ignored.push({ index, eventId: idOf(event.eventId), type, reason });
    const kind = kindOf(type, event.objectTypeId);
    if (kind.kind === "ignored") {
      ignore(kind.reason);
      continue;
    }
    const parsed = ticketEvent.safeParse(event);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      ignore(`invalid event: ${issue?.path.join(".") || "event"} ${issue?.message ?? "is invalid"}`);
      continue;
    }
    const e = parsed.data;
    if (opts.portalId !== undefined && e.portalId !== String(opts.portalId)) {
      ignore(`portal ${e.portalId} is not HUBSPOT_PORTAL_ID (${opts.portalId})`);
      continue;
    }
    if (kind.kind === "creation") {
      if (tickets.has(e.objectId)) {
        out.repeated++;
        continue;
      }
      tickets.add(e.objectId);
      out.items.push({
        input: { title: titleOf(e) },
        source: "hubspot",
        sourceRef: e.objectId,
        actor,
        clean: true,
      });
      continue;
    }
    if (e.propertyName !== STAGE_PROPERTY) {
      ignore(`property ${e.propertyName ?? "(none)"} is not watched (only ${STAGE_PROPERTY})`);
      continue;
    }
    const stageId = e.propertyValue?.trim();
    if (!stageId) {
      ignore(`${STAGE_PROPERTY} changed to an empty value`);
      continue;
    }
    const portalId = Number(e.portalId);
    if (!Number.isSafeInteger(portalId)) {
      ignore(`portal id ${e.portalId} is out of range`);
      continue;
    }
    const eventId = stageChangeEventId(e);
    if (stageIds.has(eventId)) {
      out.repeated++;
      continue;
    }
    stageIds.add(eventId);
    const data = {
      ticketId: e.objectId,
      portalId,
      stageId,
      occurredAt: e.occurredAt,
      ...(e.sourceId ? { sourceId: e.sourceId } : {}),
      ...(e.changeSource ? { changeSource: e.changeSource } : {}),
    };
    out.stageChanges.push({ eventId, name: hubspotTicketStageChanged.name, data });
  }
  return out;
}
