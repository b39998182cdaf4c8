-- The budget pause's day mark becomes a row that always exists (jsonb null: no budget day), so a
-- person's pause clears it with an UPDATE, which follows a budget pause committed while it waited on
-- the flag's row lock. A DELETE cannot see a row inserted after its statement began, and the mark
-- of a racing budget pause survived to lift the person's pause on the next day.
INSERT INTO settings (key, value) VALUES ('scheduler.paused_budget_day', 'null'::jsonb)
ON CONFLICT (key) DO NOTHING;
