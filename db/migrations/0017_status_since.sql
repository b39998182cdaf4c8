ALTER TABLE "tasks" ADD COLUMN "status_since" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- Existing tasks: the time of their last move, from the event log (a task never moved entered intake
-- when it was created).
UPDATE "tasks" t SET "status_since" = coalesce(
  (SELECT max(e."created_at") FROM "task_events" e WHERE e."task_id" = t."id" AND e."kind" = 'state_changed'),
  t."created_at");
