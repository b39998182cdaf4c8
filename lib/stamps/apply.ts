// A human decision on a deliverable (Slack button, client link, CRM stage move, or the API), applied
// by ONE transition: the move the decision means, guarded by "this stamp approves the current
// deliverable", with the `stamps` row as its companion and `task/stamped` owed through the outbox.
// The first decision wins by compare-and-set; a later one is told who decided and when. A repeat of
// the same click (same channel and source reference) is the same stamp, never a second decision.
// A refused decision (superseded version, already decided, nothing to decide) changes nothing and
// leaves one `refusal` event in the task's log saying who tried what and why.
import { eq } from "drizzle-orm";
import { stamps } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { DomainError, isDomainError } from "../errors.ts";
import { taskStamped } from "../events.ts";
import { stableId } from "../ids.ts";
import { readStageEntry } from "../review/stamp-wait.ts";
import { STAGE_STATE, type StampStage, type TaskState } from "../states.ts";
import { GuardFailedError, TransitionConflictError } from "../tasks/errors.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { guards } from "../tasks/guards.ts";
import { type TransitionResult, transition } from "../tasks/transition.ts";

export type StampDecision = "approve" | "request_changes" | "reject";
export type StampChannel = "slack" | "link" | "crm" | "api";

export interface StampInput {
  taskId: string;
  stage: StampStage;
  decision: StampDecision;
  /** The hash of the deliverable the person was shown. */
  deliverableHash: string;
  channel: StampChannel;
  /** Who stamped, as the channel names them. */
  actor: string;
  /** The channel's own id for this decision (Slack action ts, link token id, API key): a repeat is the same stamp. */
  sourceRef: string;
  note?: string;
  reviewerId?: string | null;
  /** A client link's token id: the link must belong to the task's current round of client review. */
  linkId?: string;
  /** The round a Slack card was posted for (its stage entry's event id): it must still be current. */
  round?: number;
}

/** Where a decision sends the task. */
export function targetOf(stage: StampStage, decision: StampDecision): TaskState {
  if (decision === "reject") return "cancelled";
  if (decision === "request_changes") return "ready";
  return stage === "internal" ? "awaiting_client_review" : "done";
}

export interface AppliedStamp {
  stampId: string;
  transition: TransitionResult;
}

export async function applyStamp(db: AppDb, input: StampInput): Promise<AppliedStamp> {
  // The channel's reference is unique within the task (an API client may reuse a key on two tasks).
  const sourceRef = `${input.taskId}:${input.sourceRef}`;
  const stampId = stableId("stamp", `${input.channel}:${sourceRef}`);
  const to = targetOf(input.stage, input.decision);
  const why =
    input.decision === "approve"
      ? `${input.stage} stamp: approved by ${input.actor}`
      : input.decision === "reject"
        ? `${input.stage} stamp: rejected by ${input.actor}${input.note ? `: ${input.note}` : ""}`
        : `${input.stage} stamp: changes requested by ${input.actor}${input.note ? `: ${input.note}` : ""}`;
  try {
    const moved = await transition(db, {
      taskId: input.taskId,
      from: STAGE_STATE[input.stage],
      to,
      key: `stamp:${input.channel}:${input.sourceRef}`,
      guards: [
        guards.deliverableCurrent(input.deliverableHash),
        ...(input.linkId === undefined ? [] : [guards.linkCurrentRound(input.linkId)]),
        ...(input.round === undefined ? [] : [guards.stageRound(input.stage, input.round)]),
      ],
      reason: why.slice(0, 1000),
      actor: `${input.channel}:${input.actor}`,
      companions: [
        {
          table: "stamps",
          values: {
            id: stampId,
            task_id: input.taskId,
            reviewer_id: input.reviewerId ?? null,
            stage: input.stage,
            decision: input.decision,
            note: input.note ?? "",
            channel: input.channel,
            actor: input.actor,
            deliverable_hash: input.deliverableHash,
            source_ref: sourceRef,
          },
        },
      ],
      emit: [
        taskStamped.create(
          { taskId: input.taskId, stampId, stage: input.stage, decision: input.decision },
          { id: `stamped:${stampId}` },
        ),
      ],
    });
    // The CRM channel has no version of its own (crm-inbound reads the task's current hash on every
    // attempt, so a retried step after a revision would look like another version): its reference,
    // the stage change's id, is never reused anyway.
    if (moved.replayed && input.channel !== "crm") {
      // The same reference and the same move — but a replay only if it decided the same version: an
      // API key reused for the next round's decision is a different request, not this one again.
      // Nor if the task came back to this stage since (byte-identical work, its round sent back): the
      // decision it replays was for an earlier round, and this one would decide nothing.
      const [first] = await db
        .select({ deliverableHash: stamps.deliverableHash })
        .from(stamps)
        .where(eq(stamps.id, stampId));
      if (first && first.deliverableHash !== input.deliverableHash) {
        throw new DomainError("CONFLICT", "key reused for another version", {
          field: "key",
          details: { from: moved.from, to: moved.to, deliverableHash: first.deliverableHash },
        });
      }
      const entry = first ? await readStageEntry(db, { taskId: input.taskId, stage: input.stage }) : null;
      if (entry && entry.eventId > moved.eventId) {
        throw new DomainError("CONFLICT", "key reused in a later round", {
          field: "key",
          details: { from: moved.from, to: moved.to, round: "earlier" },
        });
      }
    }
    return { stampId, transition: moved };
  } catch (err) {
    const refused = refusalOf(input, err);
    if (!refused) throw err;
    await appendEvents(db, [
      {
        taskId: input.taskId,
        actor: `${input.channel}:${input.actor}`,
        kind: "refusal",
        payload: {
          what: `${input.stage} ${input.decision} via ${input.channel}`,
          reason: refused.message,
          deliverableHash: input.deliverableHash,
        },
      },
    ]).catch(() => undefined); // the refusal itself is what the caller must hear
    throw refused;
  }
}

/** Why a link from an earlier round of client review decides nothing (the page says the same). */
export const EARLIER_ROUND =
  "This link is from an earlier round of review: the work was sent back and handed in again since. A link for the current round was sent.";

/** Why a click on a card from an earlier round of review decides nothing. */
export const EARLIER_CARD =
  "This card is from an earlier round of review: the work was sent back and handed in again since. Use the newest card for this task.";

/** The refusal a failed decision means, or undefined when the failure is not a refusal. */
function refusalOf(input: StampInput, err: unknown): DomainError | undefined {
  if (err instanceof GuardFailedError && err.guard === "deliverable_current") {
    return new DomainError(
      "CONFLICT",
      "This stamp is for an older version of the work: it was revised after you were shown it. Review the current version.",
      { field: "deliverable_hash", details: { taskId: input.taskId, reason: "superseded" } },
    );
  }
  // The channel's reference already made another move on this task (an API key reused for a later
  // round's decision): a different request, refused — never answered with the old decision.
  if (isDomainError(err) && err.code === "CONFLICT" && err.field === "key") {
    const first = err.details as
      | { from?: string; to?: string; deliverableHash?: string; round?: string }
      | undefined;
    const version = first?.deliverableHash
      ? ` on an earlier version of the work (${first.deliverableHash})`
      : first?.round === "earlier"
        ? " in an earlier round of this stage"
        : "";
    // A late retry of the first request looks the same from here: say that it took effect then.
    const retry = first?.round === "earlier" ? " If this repeats that request, it took effect then." : "";
    return new DomainError(
      "CONFLICT",
      `The key '${input.sourceRef}' was already used for another decision on this task${version} (it moved ${first?.from ?? "?"} → ${first?.to ?? "?"}).${retry} Send a new decision with a new key.`,
      { field: "Idempotency-Key", details: { taskId: input.taskId, reason: "key_reused", ...first } },
    );
  }
  if (err instanceof GuardFailedError && err.guard === "stage_round") {
    return new DomainError("CONFLICT", EARLIER_CARD, {
      details: { taskId: input.taskId, reason: "earlier_round" },
    });
  }
  if (err instanceof GuardFailedError && err.guard === "link_current_round") {
    return new DomainError("CONFLICT", EARLIER_ROUND, {
      details: { taskId: input.taskId, reason: "earlier_round" },
    });
  }
  if (err instanceof TransitionConflictError) {
    const w = err.winner;
    const decided = (["approve", "request_changes", "reject"] as const).some(
      (d) => targetOf(input.stage, d) === err.current,
    );
    return new DomainError(
      "CONFLICT",
      decided && w
        ? `Already decided: ${w.actor} moved this task to '${err.current}' at ${w.at}.`
        : `The task is '${err.current}' now; there is nothing to decide at the ${input.stage} stage.`,
      { details: { taskId: input.taskId, current: err.current, winner: w } },
    );
  }
  return undefined;
}
