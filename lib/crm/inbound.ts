// A HubSpot ticket stage change, handled (crm-inbound's verbs): classify it from the database alone
// (inbound-plan.ts), apply a person's move as the command it means — a client stamp through
// applyStamp (channel "crm"; an approval only from the client owner, owner.ts), a cancel (the
// transition owes task/cancel.requested, which stops a running work run), or the unblock / retry /
// skip transition — or refuse it: a `refusal` event, the link told the ticket now shows the person's
// stage, and a push requested to put the task's stage back, in one statement; then a note on the
// ticket saying why (recorded as WOULD_DO in dry-run). Every command and every refusal leaves
// through the outbox with the change it belongs to.

import { AssociationTypes } from "@hubspot/api-client";
import { sql } from "drizzle-orm";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { CrmPush } from "../../db/schema/crm-links.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import { DomainError, isDomainError } from "../errors.ts";
import { crmPushRequested, taskCancelRequested } from "../events.ts";
import { loadSetupMapping } from "../hubspot/setup-mapping.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import { publish } from "../outbox/publish.ts";
import { applyStamp } from "../stamps/apply.ts";
import type { TaskState } from "../states.ts";
import { currentEntrySql } from "../tasks/entry.ts";
import { GuardFailedError } from "../tasks/errors.ts";
import { eventRecord } from "../tasks/event-kinds.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { toReady } from "../tasks/retriage.ts";
import { transition } from "../tasks/transition.ts";
import { isDryRun } from "../tools/context.ts";
import { liveCrmWriter } from "../tools/crm/live-writer.ts";
import { recordingCrmWriter } from "../tools/crm/recording-writer.ts";
import { recordedResult, recordResult } from "../tools/ledger.ts";
import {
  type CrmCommand,
  classifyStageChange,
  type InboundVerdict,
  type StageChange,
} from "./inbound-plan.ts";
import { clientOwnerCheck, type Mover } from "./owner.ts";

export const INBOUND_ACTOR = "fn:crm-inbound";

export type Classified = InboundVerdict & { taskId?: string; dryRun?: boolean };

export interface InboundState {
  task:
    | { id: string; status: TaskState; version: number; dryRun: boolean; enteredEventId: number | undefined }
    | undefined;
  pushes: CrmPush[];
}

/**
 * The task behind a ticket (its link, or the task the ticket created), the event that moved it into
 * its current state, and our recent writes to the ticket. ONE query.
 */
export async function loadInboundState(db: AppDb, ticketId: string): Promise<InboundState> {
  const result = await db.execute(sql`
    select t.id, t.status, t.version, t.dry_run, l.pushes,
           (select en.id from (${currentEntrySql()}) en) as entered_event_id
      from tasks t left join crm_links l on l.task_id = t.id
     where t.id = coalesce((select task_id from crm_links where ticket_id = ${ticketId}),
                           (select id from tasks where source = 'hubspot' and source_ref = ${ticketId}))`);
  const row = rowsOf<{
    id: string;
    status: TaskState;
    version: number;
    dry_run: boolean;
    pushes: CrmPush[] | string | null;
    entered_event_id: string | number | null;
  }>(result)[0];
  if (!row) return { task: undefined, pushes: [] };
  return {
    task: {
      id: row.id,
      status: row.status,
      version: Number(row.version),
      dryRun: row.dry_run,
      enteredEventId: row.entered_event_id === null ? undefined : Number(row.entered_event_id),
    },
    pushes: row.pushes === null ? [] : fromJson(row.pushes),
  };
}

export async function classifyInbound(
  deps: Pick<Deps, "db" | "config">,
  change: StageChange,
): Promise<Classified> {
  const [mapping, state] = await Promise.all([
    loadSetupMapping(deps.db),
    loadInboundState(deps.db, change.ticketId),
  ]);
  const verdict = classifyStageChange(change, { mapping, task: state.task, pushes: state.pushes });
  if (!state.task) return verdict;
  return { ...verdict, taskId: state.task.id, dryRun: state.task.dryRun };
}

export interface CommandInput {
  taskId: string;
  command: CrmCommand;
  from: TaskState;
  to: TaskState;
  /** The stage change's event id (HubSpot's composite key): a repeat is the same command. */
  eventId: string;
  portalId: number;
  /** Who moved the ticket, as the webhook said. */
  mover?: Mover;
}

export type CommandOutcome =
  | { applied: true; to: TaskState; eventId: number }
  | { applied: false; reason: string };

const actorOf = (portalId: number) => `hubspot-portal-${portalId}`;

/** Applies the command; a refusal by the state machine or the stamp rules comes back as its reason. */
export async function applyCommand(
  deps: Pick<Deps, "db" | "config" | "events" | "logger" | "now">,
  input: CommandInput,
): Promise<CommandOutcome> {
  const { taskId, command } = input;
  const key = `crm:${input.eventId}`;
  try {
    if (command.kind === "client_stamp") {
      const hash = await deliverableHashOf(deps.db, taskId);
      if (!hash) return { applied: false, reason: "there is no deliverable to approve" };
      // The stamp is the client owner's to give, either way (DESIGN §4: only listed reviewers stamp);
      // anyone else's move to Done, or back to Ready, is refused.
      const owner = await clientOwnerCheck(deps.db, taskId, input.mover ?? {}, command.decision);
      if (!owner.ok) return { applied: false, reason: owner.reason };
      const r = await applyStamp(deps.db, {
        taskId,
        stage: "client",
        decision: command.decision,
        deliverableHash: hash,
        channel: "crm",
        actor: `${actorOf(input.portalId)}-user-${owner.userId}`,
        sourceRef: input.eventId,
        reviewerId: owner.reviewerId,
        note: command.decision === "request_changes" ? "the ticket was moved back to Ready in HubSpot" : "",
      });
      await publish(deps, r.transition.outbox);
      return { applied: true, to: r.transition.to, eventId: r.transition.eventId };
    }
    const reason =
      command.kind === "cancel" ? "cancelled in HubSpot (the ticket was moved to Cancelled)" : command.reason;
    const to = command.kind === "cancel" ? "cancelled" : command.to;
    if (to === "ready" && (input.from === "failed_needs_triage" || input.from === "blocked_external")) {
      // Unblock and retry, as the API's: held while a dependency is open; an untriaged task is
      // triaged again first (it stays where it is, and the next push shows the ticket so).
      const r = await toReady(deps.db, {
        taskId,
        from: input.from,
        key,
        reason,
        actor: `crm:${actorOf(input.portalId)}`,
      });
      const moved = r.kind === "moved" ? r.transition : r.retriage;
      // Triaged again first, the task stays where it is while the ticket shows the person's Ready. A
      // retriage that succeeds moves the task (and the sync follows); one that fails owes the push
      // that puts the ticket back (recordRetriageFailure).
      await publish(deps, moved.outbox);
      return {
        applied: true,
        to: r.kind === "moved" ? r.transition.to : r.retriage.state,
        eventId: moved.eventId,
      };
    }
    const r = await transition(deps.db, {
      taskId,
      from: input.from,
      to,
      key,
      reason,
      actor: `crm:${actorOf(input.portalId)}`,
      emit:
        command.kind === "cancel"
          ? [taskCancelRequested.create({ taskId, reason, actor: `crm:${actorOf(input.portalId)}` })]
          : [],
    });
    await publish(deps, r.outbox);
    return { applied: true, to: r.to, eventId: r.eventId };
  } catch (err) {
    // The task moved meanwhile, a guard failed, or the stamp was superseded: the move is refused, with
    // the reason the domain gave. Anything retryable is thrown for Inngest to retry.
    if (err instanceof GuardFailedError && err.guard === "dependencies_settled")
      return { applied: false, reason: "it depends on tasks that are still open; it goes on once they end" };
    if (isDomainError(err) && !err.retryable) return { applied: false, reason: err.message };
    throw err;
  }
}

async function deliverableHashOf(db: AppDb, taskId: string): Promise<string | null> {
  const result = await db.execute(sql`select deliverable_hash from tasks where id = ${taskId}`);
  return rowsOf<{ deliverable_hash: string | null }>(result)[0]?.deliverable_hash ?? null;
}

export interface RefusalInput {
  taskId: string;
  ticketId: string;
  stageId: string;
  from: TaskState;
  to: TaskState;
  reason: string;
  eventId: string;
  /** Who moved the ticket (HubSpot user id, else how it was moved), for the audit. */
  mover?: string | undefined;
}

/**
 * Records a refused move in one statement — the `refusal` event, the stage the ticket now shows (so
 * the next sync sees the difference and puts the task's stage back), and the push request in the
 * outbox — then sends the request.
 */
export async function recordRefusedMove(
  deps: Pick<Deps, "db" | "config" | "events" | "logger" | "now">,
  input: RefusalInput,
): Promise<void> {
  const push: OutboxMessage = {
    eventId: `crm-push:${input.taskId}:refused:${input.eventId}`,
    name: crmPushRequested.name,
    data: { taskId: input.taskId },
  };
  const refusal = eventRecord("refusal", {
    what: `moving the HubSpot ticket from ${input.from} to ${input.to}`,
    reason: input.reason,
    ticketId: input.ticketId,
    stageId: input.stageId,
    eventId: input.eventId,
    ...(input.mover ? { mover: input.mover } : {}),
  });
  // Keyed by the stage change: a retried step, or the run's failure handler after it, records one.
  const key = `crm-refusal:${input.eventId}`;
  await deps.db.execute(sql`
    with ev as (
      insert into task_events (task_id, kind, payload, actor, idempotency_key)
      select ${input.taskId}, ${refusal.kind}, ${toJsonb(refusal.payload)}::jsonb, ${INBOUND_ACTOR}, ${key}
       where not exists (select 1 from task_events e where e.task_id = ${input.taskId} and e.idempotency_key = ${key})
      returning id
    ),
    linked as (
      insert into crm_links as l (task_id, pushed_stage_id)
      select ${input.taskId}, ${input.stageId} from ev
      -- The ticket is no longer in the task's stage: until the push back lands, it has drifted (so the
      -- watchdog re-pushes it if that push never does).
      on conflict (task_id) do update set pushed_stage_id = excluded.pushed_stage_id, pushed_state = null,
                                          updated_at = now()
      returning l.task_id
    )
    insert into outbox (event_id, name, data, cause_event_id)
    select ${push.eventId}, ${push.name}, ${toJsonb(push.data)}::jsonb, ev.id from ev cross join linked
    on conflict (event_id) do nothing`);
  await publish(deps, [push]);
}

/** The refusal, as a note on the ticket (HubSpot), or as a WOULD_DO of that note in dry-run. */
export async function noteRefusalOnTicket(
  deps: Pick<Deps, "db" | "config" | "hubspot" | "now" | "logger">,
  input: RefusalInput & { dryRun: boolean },
): Promise<{ noted: "ticket" | "would_do" }> {
  const draft = {
    body:
      `foreman did not apply this move (${input.from} → ${input.to}): ${input.reason}. ` +
      "The ticket is put back to the task's stage.",
    timestamp: deps.now().toISOString(),
    associations: [{ objectId: input.ticketId, associationTypeId: AssociationTypes.noteToTicket }],
  };
  // Keyed by the HubSpot delivery: the step retried after HubSpot took the note answers from the
  // side-effect ledger instead of posting it twice (lib/tools/ledger.ts).
  const key = `refusal-note:${input.eventId}`;
  if (isDryRun(deps.config, { dryRun: input.dryRun })) {
    const out = await recordingCrmWriter().addNote(draft);
    if (out.kind !== "would_do") throw new Error("the recording writer sent a note");
    await appendEvents(
      deps.db,
      [{ taskId: input.taskId, actor: INBOUND_ACTOR, ...eventRecord("would_do", out.request) }],
      { key },
    );
    return { noted: "would_do" };
  }
  if (await recordedResult(deps.db, key)) return { noted: "ticket" };
  if (!deps.hubspot) {
    throw new DomainError(
      "CONFIG",
      "HUBSPOT_ACCESS_TOKEN is not configured: the refusal cannot be noted on the ticket.",
    );
  }
  const written = await liveCrmWriter(deps.hubspot).addNote(draft);
  // The note is posted: a ledger that cannot record it must not fail the step (a retry would post it
  // again for certain). Logged instead.
  await recordResult(deps.db, {
    key,
    taskId: input.taskId,
    runId: `crm-inbound:${input.eventId}`,
    tool: "hubspot_add_note",
    result: written,
  }).catch((err: unknown) =>
    deps.logger.error("crm-inbound: the side-effect ledger could not record the refusal note", {
      taskId: input.taskId,
      key,
      error: String(err),
    }),
  );
  return { noted: "ticket" };
}
