ALTER TABLE "task_events" DROP CONSTRAINT "task_events_kind_known";--> statement-breakpoint
ALTER TABLE "tasks" DROP CONSTRAINT "tasks_priority_range";--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "requires_internal_stamp" boolean;--> statement-breakpoint
ALTER TABLE "projects" ADD CONSTRAINT "projects_hubspot_company_uq" UNIQUE("hubspot_company_id");--> statement-breakpoint
ALTER TABLE "task_events" ADD CONSTRAINT "task_events_kind_known" CHECK ("task_events"."kind" in ('submitted', 'state_changed', 'note', 'would_do', 'enriched', 'triage', 'worker_turn', 'tool_call', 'tool_result', 'worker_summary', 'review', 'review_pending', 'stamp', 'refusal', 'reminder', 'escalation', 'crm_sync', 'watchdog'));--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_priority_range" CHECK ("tasks"."priority" between 0 and 5);