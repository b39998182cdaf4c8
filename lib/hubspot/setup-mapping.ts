// The HubSpot ids `npm run setup:hubspot` found or created: the "foreman tasks" ticket pipeline, one
// stage id per task state, and the ticket property group and properties. HubSpot assigns every id, so
// the mapping is kept in `settings` under `hubspot.setup` and read by whatever writes tickets.
import { sql } from "drizzle-orm";
import { z } from "zod";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { TASK_STATES, type TaskState } from "../states.ts";

export const SETUP_SETTINGS_KEY = "hubspot.setup";

export const setupMappingSchema = z.object({
  pipelineId: z.string().min(1),
  stageIds: z.object(
    Object.fromEntries(TASK_STATES.map((s) => [s, z.string().min(1)])) as Record<TaskState, z.ZodString>,
  ),
  propertyGroup: z.string().min(1),
  properties: z.array(z.string().min(1)),
});

export type SetupMapping = z.infer<typeof setupMappingSchema>;

/** Stores the mapping in one statement (insert or replace). */
export async function storeSetupMapping(db: AppDb, mapping: SetupMapping): Promise<void> {
  await db.execute(sql`
    insert into settings (key, value) values (${SETUP_SETTINGS_KEY}, ${toJsonb(mapping)}::jsonb)
    on conflict (key) do update set value = excluded.value, updated_at = now()
      where settings.value is distinct from excluded.value`);
}

/** The stored mapping, or undefined when setup has not run (or what is stored is not a mapping). */
export async function loadSetupMapping(db: AppDb): Promise<SetupMapping | undefined> {
  const result = await db.execute(sql`select value from settings where key = ${SETUP_SETTINGS_KEY}`);
  const row = rowsOf<{ value: unknown }>(result)[0];
  if (!row) return undefined;
  const parsed = setupMappingSchema.safeParse(fromJson(row.value));
  return parsed.success ? parsed.data : undefined;
}
