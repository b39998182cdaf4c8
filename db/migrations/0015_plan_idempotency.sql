ALTER TABLE "plans" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "submission_hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "plans_idempotency_uq" ON "plans" USING btree ("idempotency_key") WHERE "plans"."idempotency_key" is not null;