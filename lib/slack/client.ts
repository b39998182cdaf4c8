// The Slack Web API client foreman uses: the four calls of the review loop (post, update, ephemeral,
// open a modal) and the two the setup check needs (auth.test, conversations.info), on the official
// @slack/web-api WebClient pointed at SLACK_API_URL (tests point it at test/fakes/slack.ts). Slack's
// errors become typed DomainErrors: a rate limit carries Retry-After, a bad token or a missing channel
// is not retried. Built once per config (createDeps), injected everywhere.
import { WebClient } from "@slack/web-api";
import { DomainError } from "../errors.ts";

/** A Block Kit block, as Slack takes it (built by lib/slack/card.ts; Slack validates the shape). */
export type Block = Record<string, unknown>;

export interface SlackMessage {
  channel: string;
  /** The notification fallback; Slack shows it where blocks cannot render. */
  text: string;
  blocks?: Block[];
}

export interface SlackClient {
  postMessage(m: SlackMessage & { threadTs?: string }): Promise<{ channel: string; ts: string }>;
  updateMessage(m: SlackMessage & { ts: string }): Promise<void>;
  postEphemeral(m: SlackMessage & { user: string }): Promise<void>;
  openView(m: { triggerId: string; view: Record<string, unknown> }): Promise<void>;
  /** Who the token is: workspace, bot user (name for `/invite @name`), bot id (absent for user tokens). */
  authTest(): Promise<{
    teamId: string;
    team: string;
    userId: string;
    user: string;
    botId: string | undefined;
    scopes: string[];
  }>;
  channelInfo(channel: string): Promise<{ id: string; name: string; isMember: boolean; isArchived: boolean }>;
}

export interface SlackClientOptions {
  token: string;
  apiUrl: string;
  /** Retries on 5xx/network errors; 429s are surfaced (the caller retries durably). */
  retries?: number;
  timeoutMs?: number;
}

// Errors Slack answers with `ok: false` that no retry can fix. The token and scope ones are CONFIG
// (an operator fixes the app's install or SLACK_BOT_TOKEN); the rest are about this one request.
const CONFIG_ERRORS = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "not_allowed_token_type",
  "missing_scope",
]);
const PERMANENT = new Set([
  ...CONFIG_ERRORS,
  "channel_not_found",
  "not_in_channel",
  "user_not_in_channel",
  "is_archived",
  "no_text",
  "invalid_blocks",
  "invalid_blocks_format",
  "invalid_arguments",
  "msg_too_long",
  "message_not_found",
  "cant_update_message",
  "expired_trigger_id",
  "exchanged_trigger_id",
]);

type WebApiError = Error & {
  code?: string;
  data?: { error?: string; needed?: string; provided?: string };
  retryAfter?: number;
  statusCode?: number;
};

/** Maps a WebClient failure to a DomainError that says what Slack said. */
export function slackError(method: string, err: unknown): DomainError {
  const e = err as WebApiError;
  if (e?.code === "slack_webapi_rate_limited_error") {
    const s = typeof e.retryAfter === "number" ? e.retryAfter : 30;
    return new DomainError("RATE_LIMITED", `Slack rate-limited ${method}; retry after ${s} s.`, {
      retryAfterMs: s * 1000,
      cause: err,
    });
  }
  if (e?.code === "slack_webapi_platform_error") {
    const what = e.data?.error ?? "unknown_error";
    const extra = what === "missing_scope" && e.data?.needed ? ` (needs ${e.data.needed})` : "";
    return new DomainError(
      CONFIG_ERRORS.has(what) ? "CONFIG" : "UPSTREAM",
      `Slack refused ${method}: ${what}${extra}.`,
      {
        retryable: !PERMANENT.has(what),
        details: { slackError: what, ...(e.data?.needed ? { needed: e.data.needed } : {}) },
        cause: err,
      },
    );
  }
  return new DomainError("UPSTREAM", `Slack ${method} failed: ${e?.message ?? String(err)}`, {
    retryable: true,
    cause: err,
  });
}

// Workers' fetch must be called unbound and does not implement redirect: "error" (notes §11).
const workerSafeFetch: typeof fetch = (input, init) =>
  fetch(input, init?.redirect === "error" ? { ...init, redirect: "manual" } : init);

export function createSlackClient(opts: SlackClientOptions): SlackClient {
  const web = new WebClient(opts.token, {
    slackApiUrl: opts.apiUrl,
    retryConfig: { retries: opts.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    rejectRateLimitedCalls: true,
    timeout: opts.timeoutMs ?? 10_000,
    fetch: workerSafeFetch,
  });
  const call = async <T>(method: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw slackError(method, err);
    }
  };
  return {
    postMessage: (m) =>
      call("chat.postMessage", async () => {
        const res = await web.chat.postMessage({
          channel: m.channel,
          text: m.text,
          ...(m.blocks ? { blocks: m.blocks as never } : {}),
          ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
          unfurl_links: false,
        });
        if (!res.ts || !res.channel) throw new Error("chat.postMessage answered without channel and ts");
        return { channel: res.channel, ts: res.ts };
      }),
    updateMessage: (m) =>
      call("chat.update", async () => {
        await web.chat.update({
          channel: m.channel,
          ts: m.ts,
          text: m.text,
          ...(m.blocks ? { blocks: m.blocks as never } : {}),
        });
      }),
    postEphemeral: (m) =>
      call("chat.postEphemeral", async () => {
        await web.chat.postEphemeral({
          channel: m.channel,
          user: m.user,
          text: m.text,
          ...(m.blocks ? { blocks: m.blocks as never } : {}),
        });
      }),
    openView: (m) =>
      call("views.open", async () => {
        await web.views.open({ trigger_id: m.triggerId, view: m.view as never });
      }),
    authTest: () =>
      call("auth.test", async () => {
        const res = await web.auth.test();
        const scopes = String(
          (res.response_metadata as { scopes?: string[] } | undefined)?.scopes?.join(",") ?? "",
        )
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        return {
          teamId: res.team_id ?? "",
          team: res.team ?? "",
          userId: res.user_id ?? "",
          user: res.user ?? "",
          botId: res.bot_id || undefined,
          scopes,
        };
      }),
    channelInfo: (channel) =>
      call("conversations.info", async () => {
        const res = await web.conversations.info({ channel });
        const c = res.channel;
        if (!c?.id) throw new Error("conversations.info answered without a channel");
        return {
          id: c.id,
          name: c.name ?? "",
          isMember: c.is_member === true,
          isArchived: c.is_archived === true,
        };
      }),
  };
}
