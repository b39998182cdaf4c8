// `npm run setup:slack -- --check` as a person runs it: the script as a child process against the
// Slack fake (SLACK_API_URL), each case on a fresh fake. All in place → exit 0; a missing scope, a
// bot outside the channel, a wrong token or an unset variable → exit 1 saying what to do; no --check
// → usage and exit 2. The check only reads: nothing is ever posted.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_BOT, type FakeSlack, startSlackFake } from "../fakes/slack.ts";
import { killAll, startNode } from "../process.ts";

const SCRIPT = join(import.meta.dirname, "../../lib/slack/setup-cli.ts");
const dir = mkdtempSync(join(tmpdir(), "foreman-setup-slack-"));
let fake: FakeSlack;

beforeEach(async () => {
  fake = await startSlackFake();
});
afterEach(async () => {
  await fake.close();
});
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith("SLACK_")) delete e[k];
  return {
    ...e,
    SLACK_BOT_TOKEN: fake.token,
    SLACK_API_URL: fake.url,
    SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
    ...extra,
  };
}

async function run(
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string }> {
  const child = startNode([SCRIPT, ...args], { env: env(extra), ready: /(?!)/, cwd: dir });
  child.ready.catch(() => {});
  const code = await child.exited;
  return { code, out: child.output() };
}

const posts = () => fake.calls.filter((c) => c.method.startsWith("chat.") || c.method === "views.open");

describe("npm run setup:slack -- --check", () => {
  it("is registered in package.json", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8"));
    expect(pkg.scripts["setup:slack"]).toBe("node --env-file-if-exists=.env lib/slack/setup-cli.ts");
  });

  it("everything in place: a ✓ per check and exit 0", async () => {
    const { code, out } = await run(["--check"]);
    expect(code, out).toBe(0);
    expect(out).toContain(
      '✓ token accepted: workspace "Foreman Test" (T0FAKE0001), bot user @foreman (U0FOREMAN1)',
    );
    expect(out).toContain("✓ bot scopes: chat:write, channels:read, groups:read");
    expect(out).toContain(`✓ review channel #foreman-review (${FAKE_REVIEW_CHANNEL}): the bot is a member`);
    expect(out).not.toContain("✗");
    expect(fake.calls.map((c) => c.method)).toEqual(["auth.test", "conversations.info"]);
    expect(posts()).toEqual([]);
  });

  it("a missing scope: exit 1 naming it and saying to reinstall", async () => {
    fake.setScopes(["channels:read", "groups:read"]);
    const { code, out } = await run(["--check"]);
    expect(code, out).toBe(1);
    expect(out).toContain("✗ bot scopes: missing chat:write (granted: channels:read, groups:read)");
    expect(out).toMatch(/To fix:\n {2}1\. add the bot token scope chat:write .*reinstall the app/);
    expect(out).toContain("✓ review channel #foreman-review"); // the other checks still ran
  });

  it("the bot is not in the channel: exit 1 with the invite hint", async () => {
    fake.channels.get(FAKE_REVIEW_CHANNEL)?.members.delete(FAKE_SLACK_BOT.userId);
    const { code, out } = await run(["--check"]);
    expect(code, out).toBe(1);
    expect(out).toContain("✗ review channel #foreman-review (C0REVIEW001): the bot is not a member");
    expect(out).toContain("invite the bot: /invite @foreman in #foreman-review");
  });

  it("a channel that does not exist: exit 1, says the bot cannot see it", async () => {
    const { code, out } = await run(["--check"], { SLACK_REVIEW_CHANNEL: "C0NOSUCH001" });
    expect(code, out).toBe(1);
    expect(out).toContain("the channel C0NOSUCH001 does not exist or the bot cannot see it");
  });

  it("an archived channel: exit 1, says so", async () => {
    fake.addChannel({ id: "C0ARCHIVED1", name: "old-reviews", isArchived: true });
    const { code, out } = await run(["--check"], { SLACK_REVIEW_CHANNEL: "C0ARCHIVED1" });
    expect(code, out).toBe(1);
    expect(out).toContain("✗ review channel #old-reviews (C0ARCHIVED1) is archived");
  });

  it("a wrong token: exit 1, Slack's refusal and where the right token is, no stack trace", async () => {
    const { code, out } = await run(["--check"], { SLACK_BOT_TOKEN: "xoxb-not-the-token" });
    expect(code, out).toBe(1);
    expect(out).toContain("✗ Slack refused SLACK_BOT_TOKEN (invalid_auth)");
    expect(out).toContain("Bot User OAuth Token (xoxb-…)");
    expect(out).not.toMatch(/\bat .*\.ts:\d+/);
    expect(fake.calls.map((c) => c.method)).toEqual(["auth.test"]); // nothing more is tried with it
  });

  it("an unset variable: exit 1 naming exactly that one, Slack not called", async () => {
    const { code, out } = await run(["--check"], { SLACK_REVIEW_CHANNEL: "" });
    expect(code, out).toBe(1);
    expect(out).toContain("✓ SLACK_BOT_TOKEN is set");
    expect(out).toContain("✗ SLACK_REVIEW_CHANNEL is not set");
    expect(out).not.toContain("SLACK_BOT_TOKEN is not set");
    expect(fake.calls).toEqual([]);
  });

  it("without --check: usage and exit 2, Slack not called", async () => {
    const { code, out } = await run([]);
    expect(code).toBe(2);
    expect(out).toContain("usage: npm run setup:slack -- --check");
    expect(fake.calls).toEqual([]);
  });
});
