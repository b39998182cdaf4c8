// Post: the digest to FOREMAN_DIGEST_CHANNEL (default SLACK_REVIEW_CHANNEL) through deps.slack — it is
// about no single task, so slackFor and its per-task WOULD_DO events do not apply. At most once per
// period: a `settings` row (`digest.<kind>.<first day>`) is claimed BEFORE the post and completed with
// Slack's answer, so a retried step, or a second run for the same period, finds it and does not post
// again. If the post fails the claim is released, so the retry posts. If the process dies between
// Slack's answer and the completion, the claim stays unconfirmed and nothing is re-posted ("uncertain":
// Slack has no idempotency key for chat.postMessage, and a lost digest beats a doubled one).
// In dry-run nothing is sent: the exact request is logged, kept in a `settings` row of its own
// (`….dry_run`), and returned as the run's result. Without a bot token or channel outside dry-run,
// the run says so and posts nothing.
import { sql } from "drizzle-orm";
import { fromJson, rowsOf, toJsonb } from "../../db/rows.ts";
import type { Deps } from "../deps.ts";
import type { Block } from "../slack/client.ts";
import { digestMessage } from "./blocks.ts";
import type { DigestPeriod } from "./period.ts";
import type { Digest } from "./shape.ts";
import type { DigestSummary } from "./write.ts";

export interface DigestRequest {
  method: "chat.postMessage";
  channel: string;
  text: string;
  blocks: Block[];
}

export type DigestPostOutcome =
  | { posted: "sent"; channel: string; ts: string }
  | { posted: "would_do"; request: DigestRequest }
  | { posted: "already"; channel: string; ts: string }
  | { posted: "uncertain"; claimedAt: string }
  | { posted: "unconfigured"; missing: string[] };

type Mark = { state: "posting"; at: string } | { state: "sent"; channel: string; ts: string; at: string };

export const digestMarkKey = (p: DigestPeriod): string => `digest.${p.kind}.${p.from}`;

export async function postDigest(
  deps: Pick<Deps, "db" | "config" | "slack" | "logger" | "now">,
  digest: Digest,
  summary: DigestSummary,
): Promise<DigestPostOutcome> {
  const key = digestMarkKey(digest.period);
  const channel = deps.config.FOREMAN_DIGEST_CHANNEL ?? deps.config.SLACK_REVIEW_CHANNEL;
  const message = digestMessage(digest, summary);

  if (deps.config.FOREMAN_DRY_RUN) {
    const request: DigestRequest = {
      method: "chat.postMessage",
      channel: channel ?? "(FOREMAN_DIGEST_CHANNEL and SLACK_REVIEW_CHANNEL are not set)",
      ...message,
    };
    await deps.db.execute(sql`
      insert into settings (key, value)
      values (${`${key}.dry_run`}, ${toJsonb({ recorded: "would_do", request })}::jsonb)
      on conflict (key) do nothing`);
    deps.logger.info("WOULD_DO: digest to Slack", { key, request });
    return { posted: "would_do", request };
  }

  const missing = [
    deps.slack ? null : "SLACK_BOT_TOKEN",
    channel ? null : "FOREMAN_DIGEST_CHANNEL (or SLACK_REVIEW_CHANNEL)",
  ].filter((m): m is string => m !== null);
  if (!deps.slack || !channel) {
    deps.logger.warn("digest: not posted to Slack, it is not configured", {
      key,
      missing,
      text: message.text,
    });
    return { posted: "unconfigured", missing };
  }

  const claim: Mark = { state: "posting", at: deps.now().toISOString() };
  const claimed = await deps.db.execute(sql`
    insert into settings (key, value) values (${key}, ${toJsonb(claim)}::jsonb)
    on conflict (key) do nothing
    returning key`);
  if (rowsOf(claimed).length === 0) {
    const [row] = rowsOf<{ value: Mark | string }>(
      await deps.db.execute(sql`select value from settings where key = ${key}`),
    );
    const mark = row ? fromJson(row.value) : undefined;
    if (mark?.state === "sent") return { posted: "already", channel: mark.channel, ts: mark.ts };
    deps.logger.warn(
      "digest: an earlier attempt claimed this period and never confirmed; not posting again",
      {
        key,
      },
    );
    return { posted: "uncertain", claimedAt: mark?.at ?? "unknown" };
  }

  let posted: { channel: string; ts: string };
  try {
    posted = await deps.slack.postMessage({ channel, ...message });
  } catch (err) {
    // Slack refused or could not be reached: nothing went out, so the retry may post.
    await deps.db.execute(sql`delete from settings where key = ${key} and value->>'state' = 'posting'`);
    throw err;
  }
  const sent: Mark = { state: "sent", channel: posted.channel, ts: posted.ts, at: deps.now().toISOString() };
  await deps.db.execute(sql`
    update settings set value = ${toJsonb(sent)}::jsonb, updated_at = now() where key = ${key}`);
  return { posted: "sent", channel: posted.channel, ts: posted.ts };
}
