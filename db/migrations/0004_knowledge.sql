-- Reordered by hand: drizzle-kit added "search" before the "tags" it reads, and dropping the column
-- also drops knowledge_search_idx, which it did not recreate.
ALTER TABLE "knowledge" ADD COLUMN "tags" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "knowledge" ADD COLUMN "source_path" text;--> statement-breakpoint
ALTER TABLE "knowledge" ADD CONSTRAINT "knowledge_source_path_uq" UNIQUE("source_path");--> statement-breakpoint
ALTER TABLE "knowledge" DROP COLUMN "search";--> statement-breakpoint
ALTER TABLE "knowledge" ADD COLUMN "search" "tsvector" GENERATED ALWAYS AS (setweight(to_tsvector('english', title), 'A') || setweight(jsonb_to_tsvector('english', tags, '["string"]'), 'B') || setweight(to_tsvector('english', body), 'D')) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "knowledge_search_idx" ON "knowledge" USING gin ("search");
