// The one typed event catalogue (DESIGN §3): every Inngest event foreman sends or reacts to, declared
// once with its zod schema. Functions use these as triggers; senders build payloads with `.create()`,
// which validates before sending. No event name is written as a free string anywhere else.
import { eventType } from "inngest";
import { z } from "zod";
import { FAILURE_CLASSES } from "./failures.ts";
import { STAMP_STAGES, TASK_STATES } from "./states.ts";

const taskId = z.string().min(1);
const state = z.enum(TASK_STATES);
const actor = z.string().min(1);

export const taskSubmitted = eventType("task/submitted", {
  schema: z.object({ taskId, source: z.enum(["api", "hubspot", "agent", "schedule"]) }),
});

/**
 * A person retried (or unblocked) a task intake never triaged — its ticket could not be read, say. It
 * stays where it is while the retriage function enriches and triages it; then it goes to ready.
 * `requestEventId` is the request's `retriage` row in the log (its outbox id derives from it).
 */
export const taskRetriageRequested = eventType("task/retriage.requested", {
  schema: z.object({
    taskId,
    source: z.enum(["api", "hubspot", "agent", "schedule"]),
    from: z.enum(["failed_needs_triage", "blocked_external"]),
    requestEventId: z.number().int(),
    reason: z.string(),
    actor,
  }),
});

export const hubspotTicketCreated = eventType("hubspot/ticket.created", {
  schema: z.object({ ticketId: z.string().min(1), portalId: z.number().int(), occurredAt: z.number().int() }),
});

export const hubspotTicketStageChanged = eventType("hubspot/ticket.stage_changed", {
  schema: z.object({
    ticketId: z.string().min(1),
    portalId: z.number().int(),
    stageId: z.string().min(1),
    occurredAt: z.number().int(),
    /** Who moved it, as HubSpot says: `userId:<id>` for a person in the CRM (the client-owner check). */
    sourceId: z.string().min(1).max(200).optional(),
    /** How it was moved: `CRM_UI`, `AUTOMATION_PLATFORM`, `INTEGRATION`, … */
    changeSource: z.string().min(1).max(100).optional(),
  }),
});

export const taskReady = eventType("task/ready", { schema: z.object({ taskId }) });

export const taskDispatched = eventType("task/dispatched", {
  schema: z.object({ taskId, runId: z.string().min(1), workerId: z.string().min(1) }),
});

export const taskWorkSubmitted = eventType("task/work.submitted", {
  schema: z.object({
    taskId,
    runId: z.string().min(1),
    deliverableId: z.string().min(1),
    deliverableHash: z.string().min(1),
  }),
});

export const taskRevisionRequested = eventType("task/revision.requested", {
  schema: z.object({ taskId, revision: z.number().int().min(1), feedback: z.string() }),
});

export const taskStamped = eventType("task/stamped", {
  schema: z.object({
    taskId,
    stampId: z.string().min(1),
    stage: z.enum(["internal", "client"]),
    decision: z.enum(["approve", "request_changes", "reject"]),
  }),
});

export const taskStateChanged = eventType("task/state.changed", {
  schema: z.object({
    taskId,
    from: state,
    to: state,
    version: z.number().int().min(1),
    eventId: z.number().int(),
    reason: z.string().nullable(),
    actor,
  }),
});

export const taskCancelRequested = eventType("task/cancel.requested", {
  schema: z.object({
    taskId,
    reason: z.string(),
    actor,
    /** The run to stop, when the sender knows it: release-on-cancel then frees that run's slot only. */
    runId: z.string().min(1).optional(),
  }),
});

/**
 * Stop one work run (the watchdog's, for a run it took the task from). Only that run's cancelOn
 * matches — never a newer run the scheduler leased for the same task — and release-on-cancel frees
 * that run's slot only.
 */
export const taskRunCancelRequested = eventType("task/run.cancel.requested", {
  schema: z.object({ taskId, runId: z.string().min(1), reason: z.string(), actor }),
});

/** The watchdog found a human stage whose wait the engine lost: the review function resumes it. */
export const taskStampResume = eventType("task/stamp.resume", {
  schema: z.object({
    taskId,
    stage: z.enum(STAMP_STAGES),
    deliverableHash: z.string().min(1),
    /** When the stage began (its state change): the resumed stage keeps that clock. */
    startedAt: z.iso.datetime({ offset: true }),
  }),
});

export const workerReleased = eventType("worker/released", {
  schema: z.object({ workerId: z.string().min(1), taskId }),
});

export const schedulerPaused = eventType("scheduler/paused", {
  // `over: "budget"`: a person paused while the daily budget's pause stood, and now holds it.
  schema: z.object({ reason: z.string(), actor, over: z.literal("budget").optional() }),
});

export const schedulerResumed = eventType("scheduler/resumed", {
  // `reason` when the scheduler lifted a budget pause itself on a new day.
  schema: z.object({ actor, reason: z.string().optional() }),
});

/** A task's ticket differs from the task: crm-sync asks crm-push to write it (batched with others). */
export const crmPushRequested = eventType("crm/push.requested", { schema: z.object({ taskId }) });

/**
 * crm-push ran out of retries and no outage was open: HubSpot writes are failing (lib/crm/outage.ts).
 * Once per outage; notify posts it to the review channel.
 */
export const crmPushFailed = eventType("crm/push.failed", {
  schema: z.object({
    error: z.string(),
    class: z.enum(FAILURE_CLASSES),
    /** The failure count when the outage opened (its number). */
    failures: z.number().int().min(1),
    since: z.iso.datetime({ offset: true }),
  }),
});

/** The day's spend crossed 80 % or 95 % of the daily budget (once per level per day). */
export const budgetWarning = eventType("budget/warning", {
  schema: z.object({
    level: z.union([z.literal(80), z.literal(95)]),
    day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    tokensToday: z.number().int().min(0),
    dailyTokens: z.number().int().min(0),
    /** Present when a daily cost cap is set. */
    costToday: z.number().min(0).optional(),
    dailyCostUsd: z.number().min(0).optional(),
  }),
});

export const EVENTS = [
  taskSubmitted,
  taskRetriageRequested,
  hubspotTicketCreated,
  hubspotTicketStageChanged,
  taskReady,
  taskDispatched,
  taskWorkSubmitted,
  taskRevisionRequested,
  taskStamped,
  taskStateChanged,
  taskCancelRequested,
  taskRunCancelRequested,
  taskStampResume,
  workerReleased,
  schedulerPaused,
  schedulerResumed,
  budgetWarning,
  crmPushRequested,
  crmPushFailed,
] as const;

/** What an event sender accepts: the output of an EventType's `.create()`. */
export interface OutgoingEvent {
  name: string;
  data?: unknown;
  id?: string;
  ts?: number;
  /** Present on `.create()` output: checks `data` against the event's schema. */
  validate?: () => Promise<void>;
}
