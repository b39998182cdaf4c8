ALTER TABLE "crm_links" ALTER COLUMN "ticket_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "crm_links" ALTER COLUMN "pipeline_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "pushed_state" "task_state";--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "pushed_stage_id" text;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "pushes" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "create_attempted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "refused_version" integer;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "crm_links" ADD COLUMN "would_do_event_id" bigint;