// Enriching a HubSpot-sourced task from its ticket, in ONE statement: the project is created on
// first sight of the ticket's company (unique per HubSpot company id), the task takes the ticket's
// subject and content (cleaned, not refused: CRM text) and that project, and an `enriched` event
// records which fields changed. Idempotent: an unchanged task writes nothing. A retriage enriches an
// untriaged task where a person retried it from (lib/tasks/retriage.ts).
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { TicketForIntake } from "../hubspot/tickets.ts";
import { newId } from "../ids.ts";
import type { TaskState } from "../states.ts";
import { cleanText, clipText } from "../text.ts";

export interface EnrichResult {
  changed: string[];
  projectId: string;
  cleaned: string[];
}

const TITLE_MAX = 200;
const DESCRIPTION_MAX = 20_000;

/** `from`: where the task waits — intake, or (a retriage) the state a person retried it from, untriaged. */
export async function enrichFromTicket(
  db: AppDb,
  taskId: string,
  ticket: TicketForIntake,
  from: TaskState = "intake",
): Promise<EnrichResult> {
  const subject = cleanText(ticket.subject ?? "", { multiline: false });
  const content = cleanText(ticket.content ?? "", { multiline: true });
  const cleaned = [
    ...subject.cleaned.map((c) => `title: ${c}`),
    ...content.cleaned.map((c) => `description: ${c}`),
  ];
  let title = subject.text.trim() || `HubSpot ticket ${ticket.id}`;
  if (title.length > TITLE_MAX) {
    title = `${clipText(title, TITLE_MAX - 1)}…`;
    cleaned.push(`title: shortened to ${TITLE_MAX} characters`);
  }
  let description = content.text;
  if (description.length > DESCRIPTION_MAX) {
    description = clipText(description, DESCRIPTION_MAX);
    cleaned.push(`description: shortened to ${DESCRIPTION_MAX} characters`);
  }
  const company = ticket.company;
  const companyName =
    cleanText(company?.name ?? "", { multiline: false }).text.trim() || `HubSpot company ${company?.id}`;

  const result = await db.execute(sql`
    with new_project as (
      insert into projects (id, name, hubspot_company_id)
      select ${newId("proj")}, case when exists (select 1 from projects where name = ${companyName})
                                    then ${companyName} || ' (HubSpot ' || ${company?.id ?? null}::text || ')'
                                    else ${companyName} end, ${company?.id ?? null}::text
       where ${company?.id ?? null}::text is not null
         and not exists (select 1 from projects where hubspot_company_id = ${company?.id ?? null}::text)
      -- Another intake created it after this statement's snapshot (two tickets of a new company at
      -- once): take that row. DO NOTHING would return nothing, the lookup below could not see the
      -- row either, and the task would stay in the default project without a word.
      on conflict (hubspot_company_id) do update set hubspot_company_id = excluded.hubspot_company_id
      returning id
    ),
    target as (
      select t.id, t.title, t.description, t.project_id,
             coalesce((select id from new_project),
                      (select p.id from projects p where p.hubspot_company_id = ${company?.id ?? null}::text),
                      t.project_id) as new_project_id
        from tasks t where t.id = ${taskId} and t.status = ${from}::task_state
         and (t.status = 'intake' or t.triaged_at is null)
    ),
    diff as (
      select target.*, array_remove(array[
               case when title is distinct from ${title} then 'title' end,
               case when description is distinct from ${description} then 'description' end,
               case when project_id is distinct from new_project_id then 'project' end], null) as fields
        from target
    ),
    eid as (select nextval(pg_get_serial_sequence('task_events', 'id')) as id),
    moved as (
      update tasks t
         set title = ${title}, description = ${description}, project_id = diff.new_project_id,
             last_event_id = (select id from eid), updated_at = now()
        from diff
       where t.id = diff.id and cardinality(diff.fields) > 0
      returning t.id
    ),
    ev as (
      insert into task_events (id, task_id, kind, payload, actor)
      select (select id from eid), moved.id, 'enriched',
             jsonb_build_object('from', 'hubspot', 'ticketId', ${ticket.id}::text,
                                'fields', to_jsonb(diff.fields), 'cleaned', ${toJsonb(cleaned)}::jsonb),
             'fn:intake'
        from moved cross join diff
    )
    select diff.fields, diff.new_project_id from diff`);
  const [row] = rowsOf<{ fields: string[] | string; new_project_id: string }>(result);
  if (!row) return { changed: [], projectId: "", cleaned };
  const fields =
    typeof row.fields === "string" ? row.fields.replace(/[{}]/g, "").split(",").filter(Boolean) : row.fields;
  return { changed: fields, projectId: row.new_project_id, cleaned };
}
