// The Retry button on a triage notice: only a human internal reviewer listed for the task's project
// (or for every project) may retry; the retry is ONE transition failed_needs_triage → ready, keyed by
// the click (a repeat of the same click is the same retry) and naming who, held as the API's retry
// is while a dependency is open — or, for a task intake never triaged, a retriage request first. Anyone else, and a click on
// a task that is no longer failed, is refused politely and audited as a `refusal` event. The notice is
// then shown retried (who, when; the button gone) — the Slack route does that right after the click.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { isDomainError } from "../errors.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { RetryAction } from "../slack/payload.ts";
import { slackFor } from "../slack/poster.ts";
import { internalReviewerOf, recordSlackRefusal } from "../stamps/slack.ts";
import { commandReason, waitingOn } from "../tasks/command.ts";
import { GuardFailedError, TransitionConflictError } from "../tasks/errors.ts";
import { toReady } from "../tasks/retriage.ts";
import { retriedNotice } from "./blocks.ts";
import { failureOf } from "./plan.ts";
import { type NotifyDeps, noticeTaskOf } from "./thread.ts";

export type RetryOutcome =
  | { ok: true; text: string; at: string; outbox: OutboxMessage[] }
  | { ok: false; text: string };

const refuse = (db: AppDb, action: RetryAction, reason: string) =>
  recordSlackRefusal(db, action, "slack retry", reason);

/** Slack shows times the way the stamp cards do. */
export const shownAt = (iso: string): string => `${iso.replace("T", " ").slice(0, 16)} UTC`;

export async function retryFromSlack(
  deps: Pick<NotifyDeps, "db">,
  action: RetryAction,
): Promise<RetryOutcome> {
  const reviewer = await internalReviewerOf(deps.db, action.taskId, action.userId);
  if (!reviewer) {
    await refuse(deps.db, action, "not an internal reviewer of this project");
    return {
      ok: false,
      text: "Only the project's internal reviewers can retry this task. Nothing was changed.",
    };
  }
  try {
    const r = await toReady(deps.db, {
      taskId: action.taskId,
      from: "failed_needs_triage",
      key: `retry:${action.idempotencyKey}`,
      // Worded as the admin API's retry is, so the audit reads the same whichever channel retried.
      reason: commandReason("retry", `in Slack by ${reviewer.name} (Slack user ${action.userId})`),
      actor: `slack:${action.userId}`,
    });
    if (r.kind === "retriage") {
      return {
        ok: true,
        at: r.retriage.at,
        outbox: r.retriage.outbox,
        text: `Retried by <@${action.userId}> at ${shownAt(r.retriage.at)}: intake never triaged this task, so it is enriched and triaged again first, then queued. If that fails again, the task says why.`,
      };
    }
    return {
      ok: true,
      at: r.transition.at,
      outbox: r.transition.outbox,
      text: `Retried by <@${action.userId}> at ${shownAt(r.transition.at)}: the task is back in the queue.`,
    };
  } catch (err) {
    if (err instanceof GuardFailedError && err.guard === "dependencies_settled") {
      const open = await waitingOn(deps.db, action.taskId, "retry");
      await refuse(deps.db, action, open.message);
      return { ok: false, text: `Nothing was changed: ${open.message}` };
    }
    if (err instanceof TransitionConflictError) {
      const by = err.winner ? ` (moved by ${err.winner.actor} at ${shownAt(err.winner.at)})` : "";
      await refuse(deps.db, action, `the task is ${err.current}, not failed_needs_triage`);
      return {
        ok: false,
        text: `Nothing was changed: the task is no longer failed — it is ${err.current.replaceAll("_", " ")}${by}.`,
      };
    }
    if (isDomainError(err) && (err.code === "NOT_FOUND" || err.code === "INVALID_TRANSITION")) {
      await refuse(deps.db, action, err.message);
      return { ok: false, text: `Nothing was changed: ${err.message}` };
    }
    throw err;
  }
}

/** The failure the notice showed: the latest move into failed_needs_triage. */
async function lastFailureOf(db: AppDb, taskId: string): Promise<string | null> {
  const result = await db.execute(sql`
    select payload->>'reason' as reason from task_events
     where task_id = ${taskId} and kind = 'state_changed' and payload->>'to' = 'failed_needs_triage'
     order by id desc limit 1`);
  return rowsOf<{ reason: string | null }>(result)[0]?.reason ?? null;
}

/** Shows the clicked notice as retried (who, when; no button). False when there is nothing to update. */
export async function settleRetryNotice(
  deps: NotifyDeps,
  action: RetryAction,
  retried: { at: string },
): Promise<boolean> {
  if (!action.channelId || !action.messageTs) return false;
  const task = await noticeTaskOf(deps, action.taskId);
  if (!task) return false;
  const s = slackFor(deps, task, `slack:${action.userId}`);
  if (!s.poster) return false;
  const failure = failureOf(await lastFailureOf(deps.db, action.taskId));
  await s.poster.updateMessage({
    channel: action.channelId,
    ts: action.messageTs,
    ...retriedNotice(task.ref, failure, { user: action.userId, at: shownAt(retried.at) }),
  });
  return true;
}
