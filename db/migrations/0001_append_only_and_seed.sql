-- task_events is the append-only event log: history is never rewritten or removed.
CREATE OR REPLACE FUNCTION foreman_refuse_event_mutation() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'task_events is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER task_events_append_only
  BEFORE UPDATE OR DELETE ON task_events
  FOR EACH ROW EXECUTE FUNCTION foreman_refuse_event_mutation();
--> statement-breakpoint
-- Day 1: a default project and the one CRM worker (one slot).
INSERT INTO projects (id, name, requires_internal_stamp)
VALUES ('proj_default', 'Default', true)
ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
INSERT INTO workers (id, name, agent_type, model_tier, tools, slots)
VALUES ('crm-setup', 'CRM setup', 'crm', 'primary', '[]'::jsonb, 1)
ON CONFLICT (id) DO NOTHING;
--> statement-breakpoint
INSERT INTO settings (key, value) VALUES ('scheduler.paused', 'false'::jsonb)
ON CONFLICT (key) DO NOTHING;
