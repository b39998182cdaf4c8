// A manual note on a task (what the worker's dossier shows as "from a person"), in ONE statement:
// the `note` event and last_event_id, or NOT_FOUND for an unknown task.
import { sql } from "drizzle-orm";
import { z } from "zod";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { text } from "../text.ts";
import { taskNotFound } from "./errors.ts";

export const addNoteInput = z.strictObject({
  text: text({ trim: true, min: 1, minMessage: "must not be empty", max: 20_000, multiline: true }),
});

export async function addNote(
  db: AppDb,
  taskId: string,
  raw: unknown,
  author: string,
): Promise<{ eventId: number; at: string }> {
  const input = addNoteInput.parse(raw);
  const result = await db.execute(sql`
    with eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    touched as (
      update tasks set last_event_id = (select id from eid), updated_at = now() where id = ${taskId} returning id
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor)
      select (select id from eid), touched.id, 'note', jsonb_build_object('text', ${input.text}::text, 'author', ${author}::text), ${author}
        from touched
      returning id, created_at
    )
    select id, created_at from ev`);
  const [row] = rowsOf<{ id: string | number; created_at: string | Date }>(result);
  if (!row) throw taskNotFound(taskId);
  return { eventId: Number(row.id), at: new Date(row.created_at).toISOString() };
}
