// POST /slack/interactions: Slack's buttons and modals for internal stamps. The signing secret (v0,
// 5-minute window, constant time) is checked over the raw body, the payload parsed as Slack really
// sends it, the clicker checked against the project's internal reviewers, and the stamp written before
// anything is sent — all well inside Slack's 3 s. The answer tells the clicker what happened.
import { Hono } from "hono";
import { publish } from "../../lib/outbox/publish.ts";
import { parseInteraction } from "../../lib/slack/payload.ts";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySlackSignature } from "../../lib/slack/verify.ts";
import { stampFromSlack } from "../../lib/stamps/slack.ts";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../errors.ts";

export const slackRoutes = new Hono<AppEnv>().post("/interactions", async (c) => {
  const deps = c.get("deps");
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
    if (parsed.problem === "missing_note") {
      return c.json({ response_action: "errors", errors: { "stamp:note": parsed.reason } });
    }
    deps.logger.warn("slack: refused interaction", { problem: parsed.problem, reason: parsed.reason });
    return c.json({ response_type: "ephemeral", replace_original: false, text: parsed.reason });
  }
  if ("ignored" in parsed) return c.body(null, 200);
  if (parsed.action.kind === "open_changes_modal") {
    // Opening the modal needs the Slack Web API client (views.open), which is not wired yet.
    return c.json({
      response_type: "ephemeral",
      replace_original: false,
      text: "Use Request changes from the review link for now.",
    });
  }
  const outcome = await stampFromSlack(deps.db, parsed.action);
  if (outcome.ok) await publish(deps, outcome.applied.transition.outbox);
  if (parsed.action.surface === "modal_submission") return c.json({ response_action: "clear" });
  return c.json({ response_type: "ephemeral", replace_original: false, text: outcome.text });
});
