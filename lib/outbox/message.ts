// An outbox row as it travels: the deterministic Inngest event id, the event name and its data.
// `toEvent` rebuilds it through the one catalogue, so a row is schema-checked again before it leaves.
import { EVENTS, type OutgoingEvent } from "../events.ts";

export interface OutboxMessage {
  eventId: string;
  name: string;
  data: Record<string, unknown>;
}

const BY_NAME = new Map<string, (typeof EVENTS)[number]>(EVENTS.map((e) => [e.name, e]));

export function toEvent(m: OutboxMessage): OutgoingEvent {
  const type = BY_NAME.get(m.name);
  if (!type) throw new Error(`outbox: '${m.name}' is not in the event catalogue (row ${m.eventId})`);
  return (type.create as (data: unknown, opts: { id: string }) => OutgoingEvent)(m.data, { id: m.eventId });
}
