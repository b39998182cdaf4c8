// Recording events owed to the engine when no task row changes with them (e.g. a webhook batch of
// stage changes only): one statement; an id already in the outbox is a duplicate and is skipped.

import { sql } from "drizzle-orm";
import { executePrepared } from "../../db/prepared.ts";
import { toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { OutboxMessage } from "./message.ts";

export async function recordOutbox(db: AppDb, events: OutboxMessage[]): Promise<void> {
  if (events.length === 0) return;
  const rows = toJsonb(events.map((e) => ({ event_id: e.eventId, name: e.name, data: e.data })));
  await executePrepared(
    db,
    sql`insert into outbox (event_id, name, data)
        select e.event_id, e.name, e.data from jsonb_to_recordset(${rows}::jsonb) as e(event_id text, name text, data jsonb)
        on conflict (event_id) do nothing`,
  );
}
