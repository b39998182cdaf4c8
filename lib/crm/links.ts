// crm_links reads and writes for the sync, each one statement. A pushed write records, together, the
// link (ticket, stage, state, event, when, and the push in the short echo list) and the `crm_sync`
// task event; a refused write records the link's refused version, the `crm_sync` event and a triage
// `note` (which is what a person reads on the task); a dry-run records the `would_do` event and the
// dry-run progress. None of these touches the task's state, and only the note moves last_event_id
// (the sync's own records are not "task events" the ticket has to follow, or every sync would owe
// another one).
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import type { CrmPush } from "../../db/schema/crm-links.ts";
import type { AppDb } from "../../db/types.ts";
import type { TaskState } from "../states.ts";
import type { WouldDo } from "../tools/crm/writer.ts";
import type { SyncLink, SyncTask } from "./plan.ts";

/** How many of our recent writes the echo list keeps per task. */
export const PUSHES_KEPT = 10;
export const SYNC_ACTOR = "fn:crm-sync";

export interface SyncState {
  task: SyncTask;
  link: SyncLink | undefined;
  /** The HubSpot company of the task's project (a created ticket is associated with it). */
  companyId: string | null;
}

type StateRow = {
  id: string;
  status: TaskState;
  version: number;
  last_event_id: string | number | null;
  source: SyncTask["source"];
  source_ref: string | null;
  dry_run: boolean;
  title: string;
  revision_count: number;
  worker_id: string | null;
  ticket_owned_by: string | null;
  company_id: string | null;
  linked: boolean;
  ticket_id: string | null;
  pushed_stage_id: string | null;
  last_synced_event_id: string | number | null;
  create_attempted: boolean;
  refused_version: number | null;
  would_do_event_id: string | number | null;
};
const num = (v: string | number | null) => (v === null ? null : Number(v));

/** The tasks (and their links) by id; unknown ids are left out. */
export async function loadSyncStates(db: AppDb, taskIds: string[]): Promise<SyncState[]> {
  if (taskIds.length === 0) return [];
  const result = await db.execute(sql`
    select t.id, t.status, t.version, t.last_event_id, t.source, t.source_ref, t.dry_run, t.title,
           t.revision_count, t.worker_id, p.hubspot_company_id as company_id,
           (select o.task_id from crm_links o
             where t.source = 'hubspot' and o.ticket_id = t.source_ref and o.task_id <> t.id) as ticket_owned_by,
           l.task_id is not null as linked, l.ticket_id, l.pushed_stage_id, l.last_synced_event_id,
           l.create_attempted_at is not null as create_attempted, l.refused_version, l.would_do_event_id
      from tasks t
      join projects p on p.id = t.project_id
      left join crm_links l on l.task_id = t.id
     where t.id in (select jsonb_array_elements_text(${toJsonb(taskIds)}::jsonb))
     order by t.id`);
  return rowsOf<StateRow>(result).map((r) => ({
    task: {
      id: r.id,
      status: r.status,
      version: Number(r.version),
      lastEventId: num(r.last_event_id),
      source: r.source,
      sourceRef: r.source_ref,
      dryRun: r.dry_run,
      title: r.title,
      revisionCount: Number(r.revision_count),
      workerId: r.worker_id,
      ticketOwnedBy: r.ticket_owned_by,
    },
    link: r.linked
      ? {
          ticketId: r.ticket_id,
          pushedStageId: r.pushed_stage_id,
          lastSyncedEventId: num(r.last_synced_event_id),
          createAttempted: r.create_attempted,
          refusedVersion: r.refused_version === null ? null : Number(r.refused_version),
          wouldDoEventId: num(r.would_do_event_id),
        }
      : undefined,
    companyId: r.company_id,
  }));
}

export interface Synced {
  taskId: string;
  ticketId: string;
  pipelineId: string;
  state: TaskState;
  stageId: string;
  eventId: number | null;
  /** When the write was sent (ms): what an echo of it is matched against. */
  at: number;
  created: boolean;
  via: "single" | "batch";
}

/** Records written tickets: the links (never moved back to an older event) and one crm_sync event each. */
export async function recordSynced(db: AppDb, rows: Synced[]): Promise<void> {
  if (rows.length === 0) return;
  const data = toJsonb(
    rows.map((r) => ({
      task_id: r.taskId,
      ticket_id: r.ticketId,
      pipeline_id: r.pipelineId,
      state: r.state,
      stage_id: r.stageId,
      event_id: r.eventId,
      push: { stageId: r.stageId, eventId: r.eventId ?? 0, at: r.at } satisfies CrmPush,
      at: new Date(r.at).toISOString(),
      payload: {
        ticketId: r.ticketId,
        outcome: r.created ? "created" : "synced",
        state: r.state,
        stageId: r.stageId,
        lastEventId: r.eventId,
        via: r.via,
      },
    })),
  );
  await db.execute(sql`
    with x as (
      select * from jsonb_to_recordset(${data}::jsonb)
        as x(task_id text, ticket_id text, pipeline_id text, state task_state, stage_id text, event_id bigint,
             push jsonb, at timestamptz, payload jsonb)
    ),
    linked as (
      insert into crm_links as l (task_id, ticket_id, pipeline_id, pushed_state, pushed_stage_id,
                                  last_synced_event_id, synced_at, pushes, refused_version, last_error)
      select task_id, ticket_id, pipeline_id, state, stage_id, event_id, at, jsonb_build_array(push), null, null
        from x
      on conflict (task_id) do update
         set ticket_id = excluded.ticket_id, pipeline_id = excluded.pipeline_id,
             pushed_state = excluded.pushed_state, pushed_stage_id = excluded.pushed_stage_id,
             last_synced_event_id = excluded.last_synced_event_id, synced_at = excluded.synced_at,
             pushes = (select coalesce(jsonb_agg(p order by n), '[]'::jsonb)
                         from (select p, n from jsonb_array_elements(l.pushes || excluded.pushes)
                                 with ordinality as e(p, n)
                                order by n desc limit ${PUSHES_KEPT}) kept),
             refused_version = null, last_error = null, updated_at = now()
       where l.last_synced_event_id is null or excluded.last_synced_event_id is null
          or l.last_synced_event_id <= excluded.last_synced_event_id
      returning l.task_id
    )
    insert into task_events (task_id, kind, payload, actor)
    select x.task_id, 'crm_sync', x.payload, ${SYNC_ACTOR} from x join linked on linked.task_id = x.task_id`);
}

export interface Refused {
  taskId: string;
  version: number;
  ticketId: string | null;
  category: string;
  message: string;
}

/** Records writes HubSpot refused: the link (not retried at this version), crm_sync and a triage note. */
export async function recordRefused(db: AppDb, rows: Refused[]): Promise<void> {
  if (rows.length === 0) return;
  const data = toJsonb(
    rows.map((r) => ({
      task_id: r.taskId,
      version: r.version,
      error: `${r.category}: ${r.message}`.slice(0, 1000),
      sync: {
        ticketId: r.ticketId ?? "(none)",
        outcome: "refused",
        category: r.category,
        message: r.message,
      },
      note: {
        text:
          `HubSpot refused to update this task's ticket (${r.category}): ${r.message}`.slice(0, 1500) +
          "\nThe ticket is not in step with the task. Check the HubSpot setup (npm run setup:hubspot) and the ticket; " +
          "the sync tries again when the task next moves.",
        author: SYNC_ACTOR,
      },
    })),
  );
  await db.execute(sql`
    with x as (
      select * from jsonb_to_recordset(${data}::jsonb) as x(task_id text, version int, error text, sync jsonb, note jsonb)
    ),
    linked as (
      insert into crm_links as l (task_id, refused_version, last_error)
      select task_id, version, error from x
      on conflict (task_id) do update
         set refused_version = excluded.refused_version, last_error = excluded.last_error, updated_at = now()
      returning l.task_id
    ),
    synced as (
      insert into task_events (task_id, kind, payload, actor)
      select x.task_id, 'crm_sync', x.sync, ${SYNC_ACTOR} from x join linked using (task_id)
    ),
    noted as (
      insert into task_events (task_id, kind, payload, actor)
      select x.task_id, 'note', x.note, ${SYNC_ACTOR} from x join linked using (task_id)
      returning id, task_id
    )
    update tasks t set last_event_id = noted.id, updated_at = now() from noted where t.id = noted.task_id`);
}

/** Before a create goes out: a retry then looks the ticket up by task_id instead of creating twice. */
/** (`at: null` takes the mark back: HubSpot said it created nothing.) */
export async function markCreateAttempted(db: AppDb, taskIds: string[], at: Date | null): Promise<void> {
  if (taskIds.length === 0) return;
  await db.execute(sql`
    insert into crm_links as l (task_id, create_attempted_at)
    select id, ${at?.toISOString() ?? null}::timestamptz
      from jsonb_array_elements_text(${toJsonb(taskIds)}::jsonb) as id
    on conflict (task_id) do update set create_attempted_at = excluded.create_attempted_at, updated_at = now()`);
}

/** Tasks a push writes for the first time: their link rows exist from before its first call (the drift check's hold). */
export async function markLinksOwed(db: AppDb, taskIds: string[]): Promise<void> {
  if (taskIds.length === 0) return;
  await db.execute(sql`
    insert into crm_links (task_id)
    select id from jsonb_array_elements_text(${toJsonb(taskIds)}::jsonb) as id
    on conflict (task_id) do nothing`);
}

export interface WouldDoRow {
  taskId: string;
  eventId: number | null;
  request: WouldDo;
}

/** Dry-run: the exact request as a would_do event, and the dry-run progress on the link. */
export async function recordWouldDo(db: AppDb, rows: WouldDoRow[]): Promise<void> {
  if (rows.length === 0) return;
  const data = toJsonb(
    rows.map((r) => ({ task_id: r.taskId, event_id: r.eventId, payload: { ...r.request, for: "crm-sync" } })),
  );
  await db.execute(sql`
    with x as (select * from jsonb_to_recordset(${data}::jsonb) as x(task_id text, event_id bigint, payload jsonb)),
    linked as (
      insert into crm_links as l (task_id, would_do_event_id)
      select task_id, event_id from x
      on conflict (task_id) do update set would_do_event_id = excluded.would_do_event_id, updated_at = now()
      returning l.task_id
    )
    insert into task_events (task_id, kind, payload, actor)
    select x.task_id, 'would_do', x.payload, ${SYNC_ACTOR} from x join linked using (task_id)`);
}
