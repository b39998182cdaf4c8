// `npm run setup:slack -- --check`: checks, without changing anything, that foreman can use Slack —
// SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are set, Slack accepts the token as a bot's, it has the
// bot scopes of api/slack/manifest.yaml, and the bot is in the (unarchived) review channel. One ✓/✗
// line per check, then what to do; exit 0 only when everything is in place, 1 otherwise, 2 on usage.
// The decisions are in setup.ts; this file reads config, calls Slack and prints.
import { parseArgs } from "node:util";
import { loadConfig } from "../config.ts";
import { createSlackClient } from "./client.ts";
import {
  type AuthInfo,
  authCheck,
  type Check,
  channelCheck,
  failureOf,
  type Outcome,
  renderReport,
  scopesCheck,
  settingsChecks,
} from "./setup.ts";

const USAGE = `usage: npm run setup:slack -- --check

Checks the Slack app foreman uses and changes nothing: SLACK_BOT_TOKEN is a bot token Slack accepts,
it has the bot scopes listed in api/slack/manifest.yaml, and the bot is a member of
SLACK_REVIEW_CHANNEL. Exits 0 when everything is in place, 1 otherwise.`;

const outcome = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, error: failureOf(err) }),
  );

function finish(checks: Check[]): never {
  const report = renderReport(checks);
  console.log(report.text);
  process.exit(report.ok ? 0 : 1);
}

async function main(): Promise<void> {
  let check = false;
  try {
    check = parseArgs({ options: { check: { type: "boolean", default: false } } }).values.check === true;
  } catch {
    // an unknown flag or a stray argument: same as no --check
  }
  if (!check) {
    console.error(USAGE);
    process.exit(2);
  }

  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, "node");
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }

  const checks = settingsChecks(config);
  if (!checks.every((c) => c.ok)) finish(checks);
  const token = config.SLACK_BOT_TOKEN as string;
  const channel = config.SLACK_REVIEW_CHANNEL as string;
  console.log(`Checking the Slack setup against ${config.SLACK_API_URL}`);

  // One retry smooths over a blip; a rate limit is reported rather than waited out.
  const slack = createSlackClient({ token, apiUrl: config.SLACK_API_URL, retries: 1 });
  const auth: Outcome<AuthInfo> = await outcome(slack.authTest());
  checks.push(authCheck(auth, config.SLACK_API_URL));
  if (!auth.ok) finish(checks);
  checks.push(scopesCheck(auth.value.scopes));
  checks.push(channelCheck(channel, await outcome(slack.channelInfo(channel)), auth.value.user));
  finish(checks);
}

await main();
