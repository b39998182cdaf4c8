CREATE TABLE "stamp_links" (
	"token_id" text PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"stage" "review_stage" NOT NULL,
	"deliverable_hash" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"used_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "stamp_links" ADD CONSTRAINT "stamp_links_task_id_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."tasks"("id") ON DELETE no action ON UPDATE no action;