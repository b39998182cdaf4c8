// The setup check's decisions, without Slack: the shipped manifest asks for exactly REQUIRED_SCOPES,
// the manifest reader copes with the YAML shapes Slack's editor writes, and each check says what to do.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.ts";
import {
  type AuthInfo,
  authCheck,
  channelCheck,
  failureOf,
  manifestBotScopes,
  REQUIRED_SCOPES,
  renderReport,
  scopesCheck,
  settingsChecks,
} from "./setup.ts";

const manifest = readFileSync(join(import.meta.dirname, "../../api/slack/manifest.yaml"), "utf8");
const API = "https://slack.com/api/";
const bot: AuthInfo = {
  team: "Acme",
  teamId: "T1",
  user: "foreman",
  userId: "U1",
  botId: "B1",
  scopes: ["chat:write", "channels:read", "groups:read"],
};
const refused = (code: string, slackError?: string, extra: Partial<{ needed: string }> = {}) =>
  ({
    ok: false,
    error: { code, message: `Slack refused: ${slackError}`, ...(slackError ? { slackError } : {}), ...extra },
  }) as const;

describe("api/slack/manifest.yaml", () => {
  it("asks for exactly the bot scopes foreman checks for, no more", () => {
    const scopes = manifestBotScopes(manifest);
    expect([...scopes].sort()).toEqual(Object.keys(REQUIRED_SCOPES).sort());
    expect(new Set(scopes).size).toBe(scopes.length);
    expect(scopes).not.toContain("users:read");
  });

  it("turns interactivity on at /slack/interactions, no socket mode, rotation, org deploy or commands", () => {
    expect(manifest).toMatch(/^\s+is_enabled: true$/m);
    expect(manifest).toMatch(/^\s+request_url: https:\/\/YOUR-HOST\/slack\/interactions$/m);
    expect(manifest).toMatch(/^\s+socket_mode_enabled: false$/m);
    expect(manifest).toMatch(/^\s+token_rotation_enabled: false$/m);
    expect(manifest).toMatch(/^\s+org_deploy_enabled: false$/m);
    expect(manifest).not.toContain("slash_commands");
  });
});

describe("manifestBotScopes", () => {
  it("reads block lists at the key's indent or deeper, skipping comments, quotes and user scopes", () => {
    const yaml = [
      "oauth_config:",
      "  scopes:",
      "    user:",
      "      - search:read",
      "    bot:  # what the bot may do",
      "    - chat:write",
      '    - "channels:read" # quoted',
      "    # a whole-line comment",
      "    - 'groups:read'",
      "settings:",
      "  bot:",
      "    - not:a-scope",
    ].join("\n");
    expect(manifestBotScopes(yaml)).toEqual(["chat:write", "channels:read", "groups:read"]);
  });

  it("reads a flow list", () => {
    expect(manifestBotScopes("oauth_config:\n  scopes:\n    bot: [chat:write, 'groups:read']\n")).toEqual([
      "chat:write",
      "groups:read",
    ]);
  });

  it("refuses a manifest without the list rather than answering none", () => {
    expect(() => manifestBotScopes("display_information:\n  name: foreman\n")).toThrow(
      /oauth_config.scopes.bot/,
    );
  });
});

describe("settingsChecks", () => {
  it("names exactly the missing variable", () => {
    const [token, channel] = settingsChecks({ SLACK_REVIEW_CHANNEL: "C0REVIEW" });
    expect(token).toMatchObject({ ok: false, line: "SLACK_BOT_TOKEN is not set" });
    expect(token?.fix).toContain("xoxb-");
    expect(channel).toMatchObject({ ok: true });
    const both = settingsChecks({});
    expect(both.map((c) => c.line)).toEqual([
      "SLACK_BOT_TOKEN is not set",
      "SLACK_REVIEW_CHANNEL is not set",
    ]);
    expect(both[1]?.fix).toContain("Channel ID");
  });
});

describe("authCheck", () => {
  it("accepts a bot token and names the workspace and bot user", () => {
    expect(authCheck({ ok: true, value: bot }, API)).toEqual({
      ok: true,
      line: 'token accepted: workspace "Acme" (T1), bot user @foreman (U1)',
    });
  });

  it("refuses a user token (auth.test has no bot_id)", () => {
    const c = authCheck({ ok: true, value: { ...bot, botId: undefined, user: "alice" } }, API);
    expect(c.ok).toBe(false);
    expect(c.line).toContain("not to a bot");
    expect(c.fix).toContain("xoxp-");
  });

  it("says Slack refused the token, and how to get the right one", () => {
    const c = authCheck(refused("CONFIG", "invalid_auth"), API);
    expect(c).toMatchObject({ ok: false, line: "Slack refused SLACK_BOT_TOKEN (invalid_auth)" });
    expect(c.fix).toContain("OAuth & Permissions");
  });

  it("separates an unreachable Slack and a rate limit from a bad token", () => {
    const down = authCheck(refused("UPSTREAM"), "http://127.0.0.1:1/api/");
    expect(down.line).toContain("could not check the token with Slack at http://127.0.0.1:1/api/");
    const limited = authCheck(
      { ok: false, error: { code: "RATE_LIMITED", message: "x", retryAfterMs: 7000 } },
      API,
    );
    expect(limited.fix).toBe("wait 7 s and run the check again");
  });
});

describe("scopesCheck", () => {
  it("passes with the required scopes, extra ones allowed", () => {
    expect(scopesCheck([...bot.scopes, "commands"]).ok).toBe(true);
  });

  it("names each missing scope, why it is needed, and that the app must be reinstalled", () => {
    const c = scopesCheck(["channels:read"]);
    expect(c.ok).toBe(false);
    expect(c.line).toBe("bot scopes: missing chat:write, groups:read (granted: channels:read)");
    expect(c.fix).toContain("chat:write (to post review cards");
    expect(c.fix).toContain("reinstall the app");
    expect(scopesCheck([]).line).toContain("(granted: none)");
  });
});

describe("channelCheck", () => {
  const info = { id: "C0REVIEW01", name: "foreman-review", isMember: true, isArchived: false };

  it("passes when the bot is in the channel", () => {
    expect(channelCheck("C0REVIEW01", { ok: true, value: info }, "foreman")).toEqual({
      ok: true,
      line: "review channel #foreman-review (C0REVIEW01): the bot is a member",
    });
  });

  it("asks to invite the bot, by its name, when it is not a member", () => {
    const c = channelCheck("C0REVIEW01", { ok: true, value: { ...info, isMember: false } }, "reviewbot");
    expect(c).toMatchObject({ ok: false, fix: "invite the bot: /invite @reviewbot in #foreman-review" });
  });

  it("says an archived channel is archived (inviting would not help)", () => {
    const c = channelCheck(
      "C0REVIEW01",
      { ok: true, value: { ...info, isMember: false, isArchived: true } },
      "foreman",
    );
    expect(c.line).toBe("review channel #foreman-review (C0REVIEW01) is archived");
    expect(c.fix).toContain("unarchive #foreman-review");
  });

  it("a channel Slack cannot find: missing or invisible; a name instead of an id is called out", () => {
    const byId = channelCheck("C0NOSUCH01", refused("UPSTREAM", "channel_not_found"), "foreman");
    expect(byId.line).toBe("review channel: the channel C0NOSUCH01 does not exist or the bot cannot see it");
    expect(byId.fix).toContain("/invite @foreman");
    const byName = channelCheck("#foreman-review", refused("UPSTREAM", "channel_not_found"), "foreman");
    expect(byName.fix).toContain("must be the channel's id");
  });

  it("a lookup refused for a missing scope names that scope", () => {
    const c = channelCheck(
      "G0PRIV0001",
      refused("CONFIG", "missing_scope", { needed: "groups:read" }),
      "foreman",
    );
    expect(c.line).toBe(
      "review channel G0PRIV0001: cannot be looked up until the token has groups:read scope",
    );
    expect(c.fix).toBeUndefined(); // the scopes check says what to add
  });
});

describe("renderReport and failureOf", () => {
  it("prints ✓ lines and no fixes when all is well", () => {
    const r = renderReport([
      { ok: true, line: "a" },
      { ok: true, line: "b" },
    ]);
    expect(r).toEqual({ ok: true, text: "✓ a\n✓ b\n\nSlack is ready for foreman." });
  });

  it("prints ✗ lines and each fix once, numbered", () => {
    const r = renderReport([
      { ok: true, line: "a" },
      { ok: false, line: "b", fix: "do x" },
      { ok: false, line: "c", fix: "do x" },
      { ok: false, line: "d", fix: "do y" },
    ]);
    expect(r.ok).toBe(false);
    expect(r.text).toBe("✓ a\n✗ b\n✗ c\n✗ d\n\nTo fix:\n  1. do x\n  2. do y");
  });

  it("keeps the Slack error, needed scope and retry delay of the client's DomainError", () => {
    const err = new DomainError("CONFIG", "Slack refused x", {
      details: { slackError: "missing_scope", needed: "chat:write" },
      retryAfterMs: 5,
    });
    expect(failureOf(err)).toEqual({
      code: "CONFIG",
      message: "Slack refused x",
      slackError: "missing_scope",
      needed: "chat:write",
      retryAfterMs: 5,
    });
    expect(failureOf(new Error("boom"))).toEqual({ code: "UNKNOWN", message: "boom" });
  });
});
