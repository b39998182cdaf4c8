DROP INDEX "outbox_cause_idx";--> statement-breakpoint
DROP INDEX "outbox_sent_idx";--> statement-breakpoint
DROP INDEX "task_events_at_idx";--> statement-breakpoint
DROP INDEX "task_events_idempotency_uq";--> statement-breakpoint
CREATE UNIQUE INDEX "task_events_idempotency_uq" ON "task_events" USING btree ("task_id","idempotency_key") WHERE "task_events"."idempotency_key" is not null;