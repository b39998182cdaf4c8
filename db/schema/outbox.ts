// The transactional outbox: every event a change owes the engine, written by the same statement as
// the change, keyed by its deterministic Inngest event id. Sent after commit; a drain re-sends what
// is unsent (lib/outbox/). Rows are never rewritten except for delivery bookkeeping.
import { sql } from "drizzle-orm";
import { bigint, index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { createdAt } from "./columns.ts";

export const outbox = pgTable(
  "outbox",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedByDefaultAsIdentity(),
    /** The Inngest event id: the engine deduplicates re-sends of it for 24 hours. */
    eventId: text("event_id").notNull().unique(),
    name: text("name").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull(),
    /** The task_events row whose change owes this event (for audit; a replay rebuilds its events). */
    causeEventId: bigint("cause_event_id", { mode: "number" }),
    createdAt: createdAt(),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
    /** Earliest next send attempt (backoff after failures). */
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
    /** Set when the row outlived the engine's dedup window unsent: reported, never re-sent blindly. */
    abandonedAt: timestamp("abandoned_at", { withTimezone: true }),
  },
  (t) => [
    // The drain reads pending rows oldest first. Nothing else is indexed: every index is paid for by
    // every write on the intake path, and pruning walks the primary key from the oldest row.
    index("outbox_pending_idx").on(t.id).where(sql`${t.sentAt} is null and ${t.abandonedAt} is null`),
  ],
);
