// An internal stamp from a Slack click or modal: only a human reviewer listed for the task's project
// (or for every project) at the internal stage may decide; anyone else is refused politely and the
// refusal is audited. The decision itself is applyStamp (one guarded transition).
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { isDomainError } from "../errors.ts";
import type { StampAction } from "../slack/payload.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { type AppliedStamp, applyStamp } from "./apply.ts";

export type SlackStampOutcome =
  | { ok: true; applied: AppliedStamp; text: string }
  | { ok: false; text: string };

/** A project's own active internal reviewer with this Slack id first, then one of every project. */
export async function internalReviewerOf(
  db: AppDb,
  taskId: string,
  slackUserId: string,
): Promise<{ id: string; name: string } | undefined> {
  const result = await db.execute(sql`
    select r.id, r.name from reviewers r join tasks t on t.id = ${taskId}
     where r.kind = 'human' and r.stage = 'internal' and r.active and r.slack_user_id = ${slackUserId}
       and (r.project_id is null or r.project_id = t.project_id)
     order by r.project_id nulls last limit 1`);
  return rowsOf<{ id: string; name: string }>(result)[0];
}

/** A Slack click foreman refused, in the task's log (an unknown task id has nothing to audit against). */
export async function recordSlackRefusal(
  db: AppDb,
  click: { taskId: string; userId: string; teamId: string },
  what: string,
  reason: string,
): Promise<void> {
  await appendEvents(db, [
    {
      taskId: click.taskId,
      actor: `slack:${click.userId}`,
      kind: "refusal",
      payload: { what, reason, team: click.teamId },
    },
  ]).catch(() => undefined);
}

export async function stampFromSlack(db: AppDb, action: StampAction): Promise<SlackStampOutcome> {
  const decision =
    action.kind === "approve" ? "approve" : action.kind === "reject" ? "reject" : "request_changes";
  const reviewerId = (await internalReviewerOf(db, action.taskId, action.userId))?.id;
  if (!reviewerId) {
    await recordSlackRefusal(db, action, `slack ${decision}`, "not an internal reviewer of this project");
    return {
      ok: false,
      text: "Only the project's internal reviewers can stamp this task. Nothing was changed.",
    };
  }
  try {
    const applied = await applyStamp(db, {
      taskId: action.taskId,
      stage: "internal",
      decision,
      deliverableHash: action.deliverableHash,
      ...(action.round === undefined ? {} : { round: action.round }),
      channel: "slack",
      actor: action.userId,
      sourceRef: action.idempotencyKey,
      reviewerId,
      ...(action.note ? { note: action.note } : {}),
    });
    const when = applied.transition.at;
    return {
      ok: true,
      applied,
      text:
        decision === "approve"
          ? `Approved by <@${action.userId}> at ${when}: the client is next.`
          : decision === "reject"
            ? `Rejected by <@${action.userId}> at ${when}.`
            : `Changes requested by <@${action.userId}> at ${when}: back to the worker.`,
    };
  } catch (err) {
    if (isDomainError(err) && (err.code === "CONFLICT" || err.code === "NOT_FOUND"))
      return { ok: false, text: err.message };
    throw err;
  }
}
