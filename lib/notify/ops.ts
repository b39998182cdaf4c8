// Notices about no single task — the scheduler paused, a budget warning — posted to the review
// channel itself. Posted once per event: the mark is a settings row (`notify.slack.<event id>`)
// read first, written with Slack's answer, so a retried step does not post twice. In dry-run there is
// no task log to hold a WOULD_DO, so the mark holds the exact request instead (and the log says it);
// without Slack configured, or when Slack refuses in a way no retry fixes, the logger says so.
import { sql } from "drizzle-orm";
import { rowsOf, toJsonb } from "../../db/rows.ts";
import { isDomainError } from "../errors.ts";
import type { SlackText } from "./blocks.ts";
import type { NotifyDeps } from "./thread.ts";

export type OpsNoticeOutcome =
  | { posted: "sent"; channel: string; ts: string }
  | { posted: "would_do" | "already" | "unconfigured" | "refused" };

const markKey = (eventId: string) => `notify.slack.${eventId}`;

export async function postOpsNotice(
  deps: NotifyDeps,
  input: { eventId: string; what: string; message: SlackText },
): Promise<OpsNoticeOutcome> {
  const key = markKey(input.eventId);
  const seen = await deps.db.execute(sql`select 1 from settings where key = ${key}`);
  if (rowsOf(seen).length > 0) return { posted: "already" };
  const channel = deps.config.SLACK_REVIEW_CHANNEL;

  if (deps.config.FOREMAN_DRY_RUN) {
    const request = {
      method: "chat.postMessage",
      path: "slack:chat.postMessage",
      body: { channel: channel ?? "(SLACK_REVIEW_CHANNEL is not set)", ...input.message },
    };
    await mark(deps, key, { recorded: "would_do", request });
    deps.logger.info("WOULD_DO: Slack notice", { what: input.what, request });
    return { posted: "would_do" };
  }
  if (!deps.slack || !channel) {
    deps.logger.warn(
      "notify: not posted to Slack: SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are not both set",
      {
        what: input.what,
        text: input.message.text,
      },
    );
    return { posted: "unconfigured" };
  }
  let posted: { channel: string; ts: string };
  try {
    posted = await deps.slack.postMessage({ channel, ...input.message });
  } catch (err) {
    if (!isDomainError(err) || err.retryable) throw err;
    deps.logger.error("notify: Slack refused the notice", { what: input.what, error: err.message });
    return { posted: "refused" };
  }
  await mark(deps, key, { recorded: "sent", channel: posted.channel, ts: posted.ts });
  return { posted: "sent", channel: posted.channel, ts: posted.ts };
}

async function mark(
  deps: Pick<NotifyDeps, "db">,
  key: string,
  value: Record<string, unknown>,
): Promise<void> {
  await deps.db.execute(sql`
    insert into settings (key, value) values (${key}, ${toJsonb(value)}::jsonb)
    on conflict (key) do nothing`);
}
