ALTER TABLE "reviews" ADD COLUMN "deliverable_hash" text;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "tokens_in" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "tokens_out" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "reviews" ADD COLUMN "latency_ms" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "reviews_task_revision_uq" ON "reviews" USING btree ("task_id","revision");