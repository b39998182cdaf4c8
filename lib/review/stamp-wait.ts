// The human stage's clock and its one question. The clock: from the moment a stage is announced, a
// reminder, then an escalation, then a final deadline — waited one after another, each wait cut into
// pieces no longer than the engine's longest wait (7 days on the free plan) so a 14-day window is a
// chain of waits with a re-read of the table between them. The question, asked before every wait and
// after every timeout: has the stage been decided (a `stamps` row for this exact version), or has the
// task moved on some other way? A click that lands before a wait exists is found here, never lost.
import { type SQL, sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import type { StampDecision } from "../stamps/apply.ts";
import { STAGE_STATE, type StampStage } from "../states.ts";
import { entrySql } from "../tasks/entry.ts";

export const MAX_WAIT_MS = 7 * 86_400_000;

export type WaitPhase = "remind" | "escalate" | "deadline";

export interface StampWindow {
  stage: StampStage;
  startedAt: string;
  remindAt: string;
  escalateAt: string;
  deadline: string;
}

type Clock = Pick<
  Config,
  "FOREMAN_STAMP_REMIND_HOURS" | "FOREMAN_STAMP_ESCALATE_HOURS" | "FOREMAN_STAMP_TIMEOUT_DAYS"
>;

export function stampWindow(stage: StampStage, startedAt: Date, clock: Clock): StampWindow {
  const at = (ms: number) => new Date(startedAt.getTime() + ms).toISOString();
  return {
    stage,
    startedAt: startedAt.toISOString(),
    remindAt: at(clock.FOREMAN_STAMP_REMIND_HOURS * 3_600_000),
    escalateAt: at(clock.FOREMAN_STAMP_ESCALATE_HOURS * 3_600_000),
    deadline: at(clock.FOREMAN_STAMP_TIMEOUT_DAYS * 86_400_000),
  };
}

/** The waits in order, each ending at its phase's time. */
export function phasesOf(w: StampWindow): { phase: WaitPhase; from: string; until: string }[] {
  return [
    { phase: "remind", from: w.startedAt, until: w.remindAt },
    { phase: "escalate", from: w.remindAt, until: w.escalateAt },
    { phase: "deadline", from: w.escalateAt, until: w.deadline },
  ];
}

/**
 * A click that lands while no wait exists (between the re-read and the wait, which the engine cannot
 * close) is found at the next re-read. So each phase's first piece ends soon after its start — when
 * the card, reminder or escalation just went out and a click is likeliest — and such a click is
 * found within this, not at the next phase hours later.
 */
export const FIRST_WAIT_MS = 60_000;

/**
 * Where each piece of a wait from `from` to `until` ends: the first `first` after `from`, then at most
 * `max` apart, the last at `until`.
 */
export function waitPieces(
  from: string,
  until: string,
  { max = MAX_WAIT_MS, first = FIRST_WAIT_MS }: { max?: number; first?: number } = {},
): string[] {
  const start = Date.parse(from);
  const end = Date.parse(until);
  const out: string[] = [];
  let t = start + first;
  if (t < end) out.push(new Date(t).toISOString());
  else t = start;
  for (t += max; t < end; t += max) out.push(new Date(t).toISOString());
  out.push(new Date(end).toISOString());
  return out;
}

export type StampOutcome =
  | {
      kind: "decided";
      decision: StampDecision;
      actor: string;
      channel: "slack" | "link" | "crm" | "api";
      at: string;
      note: string;
    }
  /** The task left the stage some other way (cancelled, revised, set aside), or the version changed. */
  | { kind: "moved"; status: string }
  | { kind: "waiting" };

/**
 * One entry of a task into a stage (the `state_changed` event into its state). A deliverable
 * resubmitted byte for byte has the same hash as the version decided before it, so "this version"
 * is the hash within this entry: a decision made in an earlier round is that round's, never this one's.
 */
export interface StageEntry {
  eventId: number;
  at: string;
}

/** The newest entry of the task into the stage, as a SQL row source (id, created_at). */
export const latestEntrySql = (task: string | SQL, stage: StampStage) =>
  entrySql(typeof task === "string" ? sql`${task}` : task, sql`${STAGE_STATE[stage]}`);

export async function readStageEntry(
  db: AppDb,
  ref: { taskId: string; stage: StampStage },
): Promise<StageEntry | null> {
  const [r] = rowsOf<{ id: string | number; created_at: string | Date }>(
    await db.execute(latestEntrySql(ref.taskId, ref.stage)),
  );
  return r ? { eventId: Number(r.id), at: new Date(r.created_at).toISOString() } : null;
}

/**
 * One read: the stage's decision for this version in this entry, if any, and where the task is now.
 * `entered` is the entry the caller waits in (its run read it when the stage began); without it, the
 * newest entry. A newer entry than the caller's means its round is over: "moved".
 */
export async function readStampOutcome(
  db: AppDb,
  ref: { taskId: string; stage: StampStage; deliverableHash: string; entered?: StageEntry | null },
): Promise<StampOutcome> {
  const since = ref.entered?.at ?? null;
  const result = await db.execute(sql`
    select t.status, t.deliverable_hash, en.id as entry_id,
           s.decision, s.actor, s.channel, s.created_at, s.note
      from tasks t
      left join lateral (${latestEntrySql(ref.taskId, ref.stage)}) en on true
      left join lateral (
        select decision, actor, channel, created_at, note from stamps
         where task_id = t.id and stage = ${ref.stage} and deliverable_hash = ${ref.deliverableHash}
           and created_at >= coalesce(${since}::timestamptz, en.created_at, '-infinity'::timestamptz)
         order by created_at limit 1
      ) s on true
     where t.id = ${ref.taskId}`);
  const [r] = rowsOf<{
    status: string;
    deliverable_hash: string | null;
    entry_id: string | number | null;
    decision: StampDecision | null;
    actor: string | null;
    channel: "slack" | "link" | "crm" | "api" | null;
    created_at: string | Date | null;
    note: string | null;
  }>(result);
  if (!r) return { kind: "moved", status: "missing" };
  if (r.decision && r.actor && r.channel && r.created_at) {
    return {
      kind: "decided",
      decision: r.decision,
      actor: r.actor,
      channel: r.channel,
      at: new Date(r.created_at).toISOString(),
      note: r.note ?? "",
    };
  }
  const newerEntry = ref.entered != null && Number(r.entry_id) !== ref.entered.eventId;
  if (r.status !== STAGE_STATE[ref.stage] || r.deliverable_hash !== ref.deliverableHash || newerEntry) {
    return { kind: "moved", status: r.status };
  }
  return { kind: "waiting" };
}
