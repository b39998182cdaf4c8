// POST /slack/interactions: Slack's buttons and modals for internal stamps. The signing secret (v0,
// 5-minute window, constant time) is checked over the raw body, the payload parsed as Slack really
// sends it, the clicker checked against the project's internal reviewers, and the stamp written before
// anything is sent — all well inside Slack's 3 s. The answer tells the clicker what happened, and the
// card itself is updated here (who decided, when; the buttons gone) rather than when the review run
// resumes, which can lag. Request changes opens a modal (views.open, the trigger expires in 3 s); its
// submission is the decision. A triage notice's Retry button is handled the same way: a listed
// internal reviewer's click is one failed → ready transition, published, and the notice updated to
// show who retried and when. Engine and Slack calls are bounded so the answer is never late.
// One plain Hono route serves both deployments (Node and Workers); Bolt's receivers are not used.
import { type Context, Hono } from "hono";
import { retryFromSlack, settleRetryNotice } from "../../lib/notify/retry.ts";
import { settleCard } from "../../lib/review/human.ts";
import { readStampOutcome } from "../../lib/review/stamp-wait.ts";
import { changesModal } from "../../lib/slack/card.ts";
import { clickerOf, NOTE_ACTION_ID, parseInteraction } from "../../lib/slack/payload.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySlackSignature } from "../../lib/slack/verify.ts";
import { stampFromSlack } from "../../lib/stamps/slack.ts";
import { publishWithin, within } from "../background.ts";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../errors.ts";

/** Slack wants the answer within 3 s of sending; what the request has done counts against it. */
const ANSWER_MS = 2_500;

export const slackRoutes = new Hono<AppEnv>().post("/interactions", async (c) => {
  // One deadline for the whole answer: a slow database (a Neon compute waking up) leaves less time
  // for the engine and Slack waits after it, instead of each wait taking its full bound.
  const deps = c.get("deps");
  const answerBy = deps.now().getTime() + ANSWER_MS;
  const left = (max: number) => Math.max(0, Math.min(max, answerBy - deps.now().getTime()));
  const secret = deps.config.SLACK_SIGNING_SECRET;
  if (!secret)
    return errorResponse(c, 503, "CONFIG", "Slack is not configured on this server (SLACK_SIGNING_SECRET).");
  const raw = await c.req.text();
  const check = verifySlackSignature({
    signingSecret: secret,
    previousSigningSecret: deps.config.SLACK_SIGNING_SECRET_PREVIOUS,
    body: raw,
    signature: c.req.header(SIGNATURE_HEADER),
    timestamp: c.req.header(TIMESTAMP_HEADER),
    now: deps.now().getTime(),
  });
  if (!check.ok)
    return errorResponse(c, 401, "UNAUTHORIZED", check.reason, { details: { problem: check.problem } });

  const parsed = parseInteraction(raw);
  if (!parsed.ok) {
    if (parsed.problem === "invalid_note") {
      return c.json({ response_action: "errors", errors: { [NOTE_ACTION_ID]: parsed.reason } });
    }
    deps.logger.warn("slack: refused interaction", { problem: parsed.problem, reason: parsed.reason });
    // A click on a card we cannot read (stale, altered): the clicker is still told why nothing happened.
    const who = clickerOf(raw);
    return who
      ? tellClicker(c, who, `Nothing was done: ${parsed.reason}`, undefined, left(1000))
      : c.body(null, 200);
  }
  if ("ignored" in parsed) return c.body(null, 200);
  if ("retry" in parsed) {
    const click = parsed.retry;
    const retried = await retryFromSlack(deps, click);
    if (retried.ok) await publishWithin(c, retried.outbox, left(1000));
    // The notice's update and the clicker's answer go out side by side, in one bounded wait.
    const notice = retried.ok
      ? settleRetryNotice(deps, click, retried).catch((err: Error) =>
          deps.logger.warn("slack: notice update failed", { error: err.message }),
        )
      : undefined;
    return tellClicker(c, click, retried.text, notice, left(1000));
  }
  const action = parsed.action;
  if (action.kind === "open_changes_modal") {
    if (!deps.slack) {
      // Without the Web API nobody can be told in Slack either: the log says it.
      deps.logger.warn("slack: request changes clicked, but SLACK_BOT_TOKEN is not configured", {
        taskId: action.taskId,
        userId: action.userId,
      });
      return c.body(null, 200);
    }
    const opened = await within(
      c,
      deps.slack
        .openView({
          triggerId: action.triggerId as string,
          view: changesModal({
            taskId: action.taskId,
            hash: action.deliverableHash,
            round: action.round,
            channelId: action.channelId,
            messageTs: action.messageTs,
            responseUrl: action.responseUrl,
          }),
        })
        .then(
          () => true,
          (err: Error) => {
            deps.logger.warn("slack: views.open failed", { error: err.message });
            return err.message;
          },
        ),
      left(2000),
    );
    if (opened === true) return c.body(null, 200);
    // The form's 2 s are spent: the answer gets the rest of Slack's 3 s, at most.
    return tellClicker(
      c,
      action,
      `The request-changes form could not be opened${typeof opened === "string" ? ` (${opened})` : " in time"}. Try the button again.`,
      undefined,
      left(500),
    );
  }
  const outcome = await stampFromSlack(deps.db, action);
  let card: Promise<unknown> | undefined;
  if (outcome.ok) {
    await publishWithin(c, outcome.applied.transition.outbox, left(1000));
    const ref = {
      taskId: action.taskId,
      stage: "internal" as const,
      deliverableHash: action.deliverableHash,
    };
    card = readStampOutcome(deps.db, ref)
      .then((o) => settleCard(deps, ref, o))
      .catch((err: Error) => deps.logger.warn("slack: card update failed", { error: err.message }));
  }
  if (action.surface === "modal_submission") {
    if (card) await within(c, card, left(1000));
    return outcome.ok
      ? c.json({ response_action: "clear" })
      : c.json({ response_action: "errors", errors: { [NOTE_ACTION_ID]: outcome.text } });
  }
  return tellClicker(c, action, outcome.text, card, left(1000));
});

/**
 * What a button click's answer says, told to the person who clicked. Slack ignores the body of a
 * block_actions answer (its ack takes no payload), so the words go as an ephemeral message in the
 * card's channel; the answer itself is an empty 200. `alongside` (the card's or notice's update)
 * shares the same wait, at most `ms`, so the answer stays inside Slack's 3 s; what is not done by
 * then carries on (waitUntil on Workers).
 */
async function tellClicker(
  c: Context<AppEnv>,
  who: { userId: string; channelId?: string | undefined },
  text: string,
  alongside?: Promise<unknown>,
  ms = 1000,
): Promise<Response> {
  const deps = c.get("deps");
  let told: Promise<unknown> | undefined;
  if (deps.slack && who.channelId) {
    told = deps.slack.postEphemeral({ channel: who.channelId, user: who.userId, text }).catch((err: Error) =>
      deps.logger.warn("slack: could not tell the clicker", {
        error: err.message,
        userId: who.userId,
        text,
      }),
    );
  } else {
    deps.logger.warn("slack: no channel to tell the clicker in", { userId: who.userId, text });
  }
  const work = [alongside, told].filter((p) => p !== undefined);
  if (work.length > 0) await within(c, Promise.all(work), ms);
  return c.body(null, 200);
}
