// The outbox stopped draining: pending rows older than FOREMAN_WATCHDOG_OUTBOX_MINUTES (the /health
// numbers, lib/outbox/drain.ts outboxStatus) raise ONE alert — Slack in the review channel when live,
// recorded in the mark and logged in dry-run — and nothing more while the stall lasts. The memory is
// one settings row (`watchdog.outbox_alert`): claimed for the pass before the post, so a retried
// step posts again only for its own claim, filled in with what was sent, and deleted once the outbox
// has drained, so the next stall alerts again — after naming, once, any events the stall cost (rows
// set aside unsent while it lasted). A post Slack refuses releases the claim, so the next
// pass alerts again. A crash between Slack's answer and the mark may post a second time (at least
// once, never silently none).
import { sql } from "drizzle-orm";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { Deps } from "../deps.ts";
import type { OutboxStatus } from "../outbox/drain.ts";
import { outboxAlertText } from "./decide.ts";

export const OUTBOX_ALERT_KEY = "watchdog.outbox_alert";

export interface OutboxAlertMark {
  /** The pass that raised the alert (its clock): a retry of that pass recognises its own claim. */
  openedAt: string;
  /** notice_owed: the stall is over, but Slack refused the notice of the events it cost. */
  state: "claimed" | "sent" | "would_do" | "unconfigured" | "notice_owed";
  status?: OutboxStatus;
  channel?: string;
  ts?: string;
  request?: Record<string, unknown>;
}

export async function readOutboxAlert(db: AppDb): Promise<OutboxAlertMark | null> {
  const result = await db.execute(sql`select value from settings where key = ${OUTBOX_ALERT_KEY}`);
  const row = rowsOf<{ value: OutboxAlertMark | string }>(result)[0];
  return row ? fromJson(row.value) : null;
}

async function writeMark(db: AppDb, mark: OutboxAlertMark): Promise<void> {
  await db.execute(sql`
    update settings set value = ${toJsonb(mark)}::jsonb, updated_at = now()
     where key = ${OUTBOX_ALERT_KEY} and value->>'openedAt' = ${mark.openedAt}`);
}

type AlertDeps = Pick<Deps, "config" | "db" | "logger" | "slack">;

export type AlertOutcome =
  | { alerted: OutboxAlertMark["state"] }
  | { alerted: "already" }
  | { alerted: "failed"; error: string };

export async function raiseOutboxAlert(
  deps: AlertDeps,
  status: OutboxStatus,
  at: string,
): Promise<AlertOutcome> {
  const claim: OutboxAlertMark = { openedAt: at, state: "claimed", status };
  const claimed = rowsOf(
    await deps.db.execute(sql`
      insert into settings (key, value) values (${OUTBOX_ALERT_KEY}, ${toJsonb(claim)}::jsonb)
      -- A new stall's alert takes over a notice still owed for the last one (its text counts every
      -- event set aside).
      on conflict (key) do update set value = excluded.value, updated_at = now()
        where settings.value->>'state' = 'notice_owed'
      returning key`),
  );
  if (claimed.length === 0) {
    const mark = await readOutboxAlert(deps.db);
    // Another pass alerted for this stall, or this pass already finished: nothing more to say.
    if (!mark || mark.openedAt !== at || mark.state !== "claimed") return { alerted: "already" };
  }
  const text = outboxAlertText(status);
  const channel = deps.config.SLACK_REVIEW_CHANNEL;
  if (deps.config.FOREMAN_DRY_RUN) {
    const request = {
      method: "chat.postMessage",
      path: "slack:chat.postMessage",
      body: { channel: channel ?? "(SLACK_REVIEW_CHANNEL is not set)", text },
    };
    await writeMark(deps.db, { ...claim, state: "would_do", request });
    deps.logger.warn("watchdog: the outbox stopped draining (WOULD_DO: Slack alert)", { ...status, request });
    return { alerted: "would_do" };
  }
  if (!deps.slack || !channel) {
    await writeMark(deps.db, { ...claim, state: "unconfigured" });
    deps.logger.error(
      "watchdog: the outbox stopped draining; not posted to Slack (SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are not both set)",
      { ...status, text },
    );
    return { alerted: "unconfigured" };
  }
  let posted: Awaited<ReturnType<NonNullable<AlertDeps["slack"]>["postMessage"]>>;
  try {
    posted = await deps.slack.postMessage({ channel, text });
  } catch (err) {
    // Nothing was posted: release the claim, or every later pass would take it for an alert already
    // made and stay silent until the outbox drained. The next pass (minutes away) tries again; this
    // one goes on with its other checks (a Slack outage must not stop the lease and event repairs).
    await deps.db.execute(sql`
      delete from settings where key = ${OUTBOX_ALERT_KEY}
         and value->>'openedAt' = ${at} and value->>'state' = 'claimed'`);
    const error = (err as Error).message || String(err);
    deps.logger.error(
      "watchdog: the outbox stopped draining; the Slack alert failed and is tried again next pass",
      {
        ...status,
        error,
      },
    );
    return { alerted: "failed", error };
  }
  await writeMark(deps.db, { ...claim, state: "sent", channel: posted.channel, ts: posted.ts });
  deps.logger.error("watchdog: the outbox stopped draining; alert posted to Slack", { ...status });
  return { alerted: "sent" };
}

/**
 * What became of a stall once the outbox drains again: `cleared`; `cleared_lost` when events were set
 * aside unsent while it lasted (outlived the engine's dedup window, or refused for good) and that was
 * said; `clear_failed` when saying it failed — the alert is kept and the next pass tries again.
 */
export type ClearOutcome = "cleared" | "cleared_lost" | "clear_failed";

/**
 * The outbox drains again: forget the alert, so the next stall raises a new one. A stall that cost
 * events is not over silently: the rows set aside since the alert (GET /health's `abandoned`) are
 * named first, in the channel the alert went to — "drains again" alone would read as nothing lost.
 */
export async function clearOutboxAlert(deps: AlertDeps, status: OutboxStatus): Promise<ClearOutcome> {
  const mark = await readOutboxAlert(deps.db);
  // The rows set aside since the alert opened (not a difference of totals, which a person replaying
  // or discarding rows meanwhile would skew).
  const lost = mark
    ? Number(
        rowsOf<{ n: number | string }>(
          await deps.db.execute(sql`
            select count(*) as n from outbox where abandoned_at >= ${mark.openedAt}::timestamptz`),
        )[0]?.n ?? 0,
      )
    : 0;
  if (mark && lost > 0) {
    const text =
      `The outbox drains again, but ${lost} event${lost === 1 ? " was" : "s were"} set aside unsent during ` +
      `the stall (outlived the engine's 24 h dedup window, or refused for good): they will not be re-sent. ` +
      `Replay or discard them; GET /health counts ${status.abandoned} set aside in all.`;
    const channel = mark.channel ?? deps.config.SLACK_REVIEW_CHANNEL;
    if (deps.config.FOREMAN_DRY_RUN) {
      deps.logger.warn("watchdog: the outbox drains again, events were lost (WOULD_DO: Slack notice)", {
        lost,
        request: {
          method: "chat.postMessage",
          body: { channel: channel ?? "(SLACK_REVIEW_CHANNEL is not set)", text },
        },
      });
    } else if (!deps.slack || !channel) {
      deps.logger.error(
        "watchdog: the outbox drains again, events were lost; not posted to Slack (not configured)",
        {
          lost,
          text,
        },
      );
    } else {
      try {
        await deps.slack.postMessage({ channel, text });
      } catch (err) {
        // Owed, not open: the next pass tries again, and a new stall still raises its own alert.
        await writeMark(deps.db, { ...mark, state: "notice_owed" });
        deps.logger.error("watchdog: the notice of events lost in the stall failed; tried again next pass", {
          lost,
          error: (err as Error).message || String(err),
        });
        return "clear_failed";
      }
    }
  }
  const gone = rowsOf(
    await deps.db.execute(sql`delete from settings where key = ${OUTBOX_ALERT_KEY} returning key`),
  );
  if (gone.length > 0)
    deps.logger.info("watchdog: the outbox drains again; the stall alert is cleared", { lost });
  return lost > 0 ? "cleared_lost" : "cleared";
}
