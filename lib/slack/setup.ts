// What `npm run setup:slack -- --check` decides, without I/O: the bot scopes foreman needs (the same
// list as api/slack/manifest.yaml, kept equal by a test that reads it with manifestBotScopes), and one
// check per fact: settings present, token accepted and a bot's, scopes granted, bot in the review
// channel. Each failed check carries the exact thing to do. setup-cli.ts makes the calls and prints.
import { isDomainError } from "../errors.ts";

/** Bot scope → why foreman needs it (shown when it is missing). */
export const REQUIRED_SCOPES: Readonly<Record<string, string>> = {
  "chat:write":
    "to post review cards, update them after a decision, remind in the thread, send ephemeral refusals",
  "channels:read": "to look up a public review channel, as this check does",
  "groups:read": "to look up a private review channel, as this check does",
};

export interface Check {
  ok: boolean;
  line: string;
  /** What to do about it, when it failed. */
  fix?: string;
}

/** A failed Slack call as the checks need it (from the client's DomainError). */
export interface SlackFailure {
  code: string;
  message: string;
  slackError?: string;
  needed?: string;
  retryAfterMs?: number;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SlackFailure };

export interface AuthInfo {
  team: string;
  teamId: string;
  user: string;
  userId: string;
  botId: string | undefined;
  scopes: string[];
}

export interface ChannelInfo {
  id: string;
  name: string;
  isMember: boolean;
  isArchived: boolean;
}

export function failureOf(err: unknown): SlackFailure {
  if (!isDomainError(err))
    return { code: "UNKNOWN", message: err instanceof Error ? err.message : String(err) };
  const d = err.details ?? {};
  return {
    code: err.code,
    message: err.message,
    ...(typeof d.slackError === "string" ? { slackError: d.slackError } : {}),
    ...(typeof d.needed === "string" ? { needed: d.needed } : {}),
    ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
  };
}

/**
 * The `oauth_config.scopes.bot` list of a Slack app manifest (YAML), read line by line: block lists
 * (indented or at the key's own indent) and flow lists, comments and quotes. Enough for the manifest
 * we ship; not a YAML parser. Throws when the list is absent, so a reshaped manifest is noticed.
 */
export function manifestBotScopes(yaml: string): string[] {
  const unquote = (v: string) => v.trim().replace(/^(["'])(.*)\1$/, "$2");
  const stack: { indent: number; key: string }[] = [];
  const path = () => stack.map((s) => s.key).join(".");
  let found = false;
  const scopes: string[] = [];
  for (const raw of yaml.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, "").trimEnd();
    if (!line.trim()) continue;
    const indent = line.length - line.trimStart().length;
    const item = /^\s*-\s+(.+)$/.exec(line);
    if (item) {
      // A list item may sit at its key's own indent (`bot:` then `- chat:write` below it).
      while (stack.length && (stack.at(-1)?.indent ?? 0) > indent) stack.pop();
      if (path() === "oauth_config.scopes.bot") scopes.push(unquote(item[1] ?? ""));
      continue;
    }
    const keyed = /^\s*([\w.-]+):(?:\s+(.*))?$/.exec(line);
    if (!keyed) continue;
    while (stack.length && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
    stack.push({ indent, key: keyed[1] ?? "" });
    if (path() !== "oauth_config.scopes.bot") continue;
    found = true;
    const value = keyed[2]?.trim() ?? "";
    if (value.startsWith("[") && value.endsWith("]")) {
      scopes.push(...value.slice(1, -1).split(",").map(unquote).filter(Boolean));
    }
  }
  if (!found) throw new Error("the manifest has no oauth_config.scopes.bot list");
  return scopes;
}

export function settingsChecks(c: { SLACK_BOT_TOKEN?: string; SLACK_REVIEW_CHANNEL?: string }): Check[] {
  return [
    c.SLACK_BOT_TOKEN
      ? { ok: true, line: "SLACK_BOT_TOKEN is set" }
      : {
          ok: false,
          line: "SLACK_BOT_TOKEN is not set",
          fix: "install the app to the workspace and put its Bot User OAuth Token (xoxb-…, on the app's OAuth & Permissions page) in SLACK_BOT_TOKEN",
        },
    c.SLACK_REVIEW_CHANNEL
      ? { ok: true, line: `SLACK_REVIEW_CHANNEL is set (${c.SLACK_REVIEW_CHANNEL})` }
      : {
          ok: false,
          line: "SLACK_REVIEW_CHANNEL is not set",
          fix: "set SLACK_REVIEW_CHANNEL to the review channel's id (in Slack: the channel's name → About; the Channel ID is at the bottom)",
        },
  ];
}

const TOKEN_FIX =
  "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN (reinstalling or revoking the app invalidates the old token)";

export function authCheck(r: Outcome<AuthInfo>, apiUrl: string): Check {
  if (r.ok) {
    const a = r.value;
    if (!a.botId) {
      return {
        ok: false,
        line: `SLACK_BOT_TOKEN belongs to the user @${a.user} (${a.userId}), not to a bot`,
        fix: "use the Bot User OAuth Token (xoxb-…), not the User OAuth Token (xoxp-…)",
      };
    }
    return {
      ok: true,
      line: `token accepted: workspace "${a.team}" (${a.teamId}), bot user @${a.user} (${a.userId})`,
    };
  }
  const e = r.error;
  if (e.code === "CONFIG") {
    return {
      ok: false,
      line: `Slack refused SLACK_BOT_TOKEN (${e.slackError ?? e.message})`,
      fix: TOKEN_FIX,
    };
  }
  if (e.code === "RATE_LIMITED") {
    const s = Math.ceil((e.retryAfterMs ?? 30_000) / 1000);
    return { ok: false, line: "Slack rate-limited the check", fix: `wait ${s} s and run the check again` };
  }
  return {
    ok: false,
    line: `could not check the token with Slack at ${apiUrl}: ${e.message}`,
    fix: "check the network, and SLACK_API_URL (normally https://slack.com/api/)",
  };
}

export function scopesCheck(granted: readonly string[]): Check {
  const have = new Set(granted);
  const missing = Object.keys(REQUIRED_SCOPES).filter((s) => !have.has(s));
  if (missing.length === 0)
    return { ok: true, line: `bot scopes: ${Object.keys(REQUIRED_SCOPES).join(", ")}` };
  const why = missing.map((s) => `${s} (${REQUIRED_SCOPES[s]})`).join(" and ");
  return {
    ok: false,
    line: `bot scopes: missing ${missing.join(", ")} (granted: ${granted.join(", ") || "none"})`,
    fix: `add the bot token scope${missing.length > 1 ? "s" : ""} ${why} on the app's OAuth & Permissions page (api/slack/manifest.yaml lists every scope), then reinstall the app to the workspace so the token gets ${missing.length > 1 ? "them" : "it"}`,
  };
}

// Slack's conversation ids: C… for channels, G… for older private ones. A name (`#reviews`,
// `reviews`) is the usual mistake, and Slack answers it with channel_not_found.
const CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;

export function channelCheck(setting: string, r: Outcome<ChannelInfo>, botName: string): Check {
  const bot = `@${botName || "foreman"}`;
  if (r.ok) {
    const c = r.value;
    const label = `review channel #${c.name} (${c.id})`;
    if (c.isArchived) {
      return {
        ok: false,
        line: `${label} is archived`,
        fix: `unarchive #${c.name}, or create a new review channel, /invite ${bot} in it and set SLACK_REVIEW_CHANNEL to its id`,
      };
    }
    if (!c.isMember) {
      return {
        ok: false,
        line: `${label}: the bot is not a member`,
        fix: `invite the bot: /invite ${bot} in #${c.name}`,
      };
    }
    return { ok: true, line: `${label}: the bot is a member` };
  }
  const e = r.error;
  if (e.slackError === "channel_not_found") {
    return {
      ok: false,
      line: `review channel: the channel ${setting} does not exist or the bot cannot see it`,
      fix: CHANNEL_ID.test(setting)
        ? `check that SLACK_REVIEW_CHANNEL is the review channel's id; a private channel is visible to the bot only once it is in it (/invite ${bot} in that channel)`
        : `SLACK_REVIEW_CHANNEL must be the channel's id (like C0123ABCDE), not its name: in Slack, the channel's name → About; the Channel ID is at the bottom`,
    };
  }
  // The scopes check above already says which scope to add and how; a second fix would repeat it.
  if (e.slackError === "missing_scope") {
    return {
      ok: false,
      line: `review channel ${setting}: cannot be looked up until the token has ${e.needed ?? "the missing"} scope`,
    };
  }
  return { ok: false, line: `review channel ${setting}: ${e.message}` };
}

/** One line per check and, when any failed, the numbered things to do (each said once). */
export function renderReport(checks: readonly Check[]): { ok: boolean; text: string } {
  const ok = checks.every((c) => c.ok);
  const lines = checks.map((c) => `${c.ok ? "✓" : "✗"} ${c.line}`);
  const fixes = [...new Set(checks.flatMap((c) => (!c.ok && c.fix ? [c.fix] : [])))];
  if (ok) lines.push("", "Slack is ready for foreman.");
  else if (fixes.length) lines.push("", "To fix:", ...fixes.map((f, i) => `  ${i + 1}. ${f}`));
  return { ok, text: lines.join("\n") };
}
