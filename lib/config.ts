// Configuration: one zod schema is the single source of every variable foreman reads. Entry points
// parse it once (process.env on Node, bindings on Workers) and pass the typed result down; startup
// fails with one message listing every missing or invalid variable.
import { z } from "zod";
import { DomainError } from "./errors.ts";

const bool = (fallback: boolean) =>
  z
    .enum(["1", "0", "true", "false", "yes", "no", "on", "off"])
    .default(fallback ? "true" : "false")
    .transform((v) => ["1", "true", "yes", "on"].includes(v));

const optionalString = z.string().trim().min(1).optional();

/** USD per million tokens, per model; the local tier is priced too (its GPU-hours spread per token). */
export const modelPrices = z.record(
  z.string().min(1),
  z.strictObject({
    input: z.number().min(0),
    output: z.number().min(0),
    cacheRead: z.number().min(0).optional(),
    cacheWrite: z.number().min(0).optional(),
  }),
);
export type ModelPrices = z.infer<typeof modelPrices>;
const optionalUrl = z.url().optional();
/** An Inngest flow-control period: hours, minutes and seconds, e.g. "5s", "1m30s". */
const timeStr = z.string().regex(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, "must be a period like 5s, 2m or 1h30m");
/** An IANA time zone the runtime knows (Intl), e.g. Europe/Paris. */
const timeZone = z
  .string()
  .trim()
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "must be an IANA time zone such as UTC or Europe/Paris");
/** A five-field cron expression without a TZ= prefix (the zone is FOREMAN_DIGEST_TZ), or "off". */
const digestCron = z
  .string()
  .trim()
  .regex(
    /^(off|[\w*,/-]+(\s+[\w*,/-]+){4})$/,
    "must be a five-field cron (minute hour day month weekday) such as 0 8 * * 1-5, or off; the zone is FOREMAN_DIGEST_TZ",
  );

export const configSchema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535).default(8787),
  HOST: z.string().min(1).default("127.0.0.1"),
  FOREMAN_DATA_DIR: z.string().min(1).default(".foreman"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")
    .optional(),
  NEON_WS_PROXY: z
    .string()
    .regex(/^[\w.-]+:\d+$/, "must be host:port")
    .optional(),
  FOREMAN_API_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  FOREMAN_ACCESS_TEAM_DOMAIN: optionalUrl,
  FOREMAN_ACCESS_AUD: optionalString,
  FOREMAN_ACCESS_EMAIL_DOMAIN: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, "must be a domain such as example.com")
    .optional(),
  FOREMAN_DRY_RUN: bool(true),
  FOREMAN_PUBLIC_URL: optionalUrl,
  FOREMAN_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  FOREMAN_OUTBOX_DRAIN_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  FOREMAN_OUTBOX_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  FOREMAN_WATCHDOG_STUCK_MINUTES: z.coerce
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(30),
  FOREMAN_WATCHDOG_LOST_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  FOREMAN_WATCHDOG_OUTBOX_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  INNGEST_DEV: optionalString,
  INNGEST_SIGNING_KEY: optionalString,
  INNGEST_SIGNING_KEY_FALLBACK: optionalString,
  INNGEST_EVENT_KEY: optionalString,
  INNGEST_BASE_URL: optionalUrl,
  HUBSPOT_ACCESS_TOKEN: optionalString,
  HUBSPOT_APP_SECRET: optionalString,
  HUBSPOT_PORTAL_ID: z.coerce.number().int().min(1).optional(),
  HUBSPOT_PIPELINE_ID: optionalString,
  HUBSPOT_BASE_URL: z.url().default("https://api.hubapi.com"),
  CRM_SYNC_DEBOUNCE: timeStr.default("5s"),
  CRM_SYNC_DEBOUNCE_MAX: timeStr.default("1m"),
  CRM_SYNC_BATCH_WAIT: z
    .string()
    .regex(/^([1-9]|[1-5]\d|60)s$/, "must be 1s to 60s, in seconds (e.g. 2s)")
    .default("2s"),
  CRM_SYNC_THROTTLE_LIMIT: z.coerce.number().int().min(1).max(1000).default(40),
  CRM_SYNC_THROTTLE_PERIOD: timeStr.default("10s"),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: z.url().default("https://api.anthropic.com"),
  ANTHROPIC_MODEL: z.string().min(1).default("claude-sonnet-5-5"),
  OVERFLOW_BASE_URL: optionalUrl,
  OVERFLOW_API_KEY: optionalString,
  OVERFLOW_MODEL: z.string().min(1).default("gpt-4.1"),
  MODEL_PRICES: z
    .string()
    .default("{}")
    .transform((raw, ctx) => {
      try {
        return modelPrices.parse(JSON.parse(raw));
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `must be a JSON price table: ${(err as Error).message}` });
        return z.NEVER;
      }
    }),
  FOREMAN_DAILY_TOKEN_BUDGET: z.coerce.number().int().min(0).default(2_000_000),
  FOREMAN_DAILY_COST_BUDGET_USD: z.coerce.number().min(0).optional(),
  FOREMAN_TASK_TOKEN_CAP: z.coerce.number().int().min(1000).default(250_000),
  FOREMAN_MAX_TURNS: z.coerce.number().int().min(1).max(200).default(30),
  FOREMAN_ENGINE_STEP_LIMIT: z.coerce.number().int().min(10).max(1000).default(1000),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_SIGNING_SECRET_PREVIOUS: optionalString,
  SLACK_BOT_TOKEN: optionalString,
  SLACK_API_URL: z.url().default("https://slack.com/api/"),
  SLACK_REVIEW_CHANNEL: optionalString,
  FOREMAN_STAMP_REMIND_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 30)
    .default(24),
  FOREMAN_STAMP_ESCALATE_HOURS: z.coerce
    .number()
    .min(0.01)
    .max(24 * 60)
    .default(72),
  FOREMAN_STAMP_TIMEOUT_DAYS: z.coerce.number().min(0.01).max(90).default(14),
  STAMP_LINK_KEY: z.string().min(32, "must be at least 32 characters").optional(),
  STAMP_LINK_KEY_PREVIOUS: z.string().min(32, "must be at least 32 characters").optional(),
  STAMP_LINK_TTL_DAYS: z.coerce.number().int().min(1).max(90).default(14),
  FOREMAN_REVIEW_FALLBACK: bool(false),
  FOREMAN_REVIEW_RETRY_MINUTES: z.coerce
    .number()
    .min(1)
    .max(24 * 60)
    .default(30),
  FOREMAN_REVIEW_MAX_PARKINGS: z.coerce.number().int().min(1).max(1000).default(6),
  FOREMAN_DIGEST_TZ: timeZone.default("UTC"),
  FOREMAN_DIGEST_CRON: digestCron.default("0 8 * * 1-5"),
  FOREMAN_DIGEST_WEEKLY_CRON: digestCron.default("0 8 * * 1"),
  FOREMAN_DIGEST_CHANNEL: optionalString,
  BRIDGE_URL: optionalUrl,
  BRIDGE_TOKEN: optionalString,
  LOCAL_MODEL: z.string().min(1).default("local"),
});

export type Config = z.infer<typeof configSchema>;
export type Runtime = "node" | "worker";

/** Name → [default, where it is used]. README's table and .env.example are checked against this. */
export const CONFIG_DOCS: Record<keyof Config, { default: string; where: string }> = {
  PORT: { default: "8787", where: "Node server port (`npm start`)" },
  HOST: { default: "127.0.0.1", where: "Node server bind address" },
  FOREMAN_DATA_DIR: { default: ".foreman", where: "embedded PGlite data dir, generated API token" },
  DATABASE_URL: { default: "(embedded PGlite)", where: "Postgres/Neon URL; required on Workers" },
  NEON_WS_PROXY: { default: "—", where: "dev/test only: route the Neon driver through a local ws proxy" },
  FOREMAN_API_TOKEN: {
    default: "generated into the data dir (Node)",
    where: "bearer token for /api/*; required on Workers",
  },
  FOREMAN_ACCESS_TEAM_DOMAIN: {
    default: "— (sign-in form only)",
    where:
      "Cloudflare Access team domain (https://<team>.cloudflareaccess.com): with FOREMAN_ACCESS_AUD, /board also accepts a verified Cf-Access-Jwt-Assertion",
  },
  FOREMAN_ACCESS_AUD: {
    default: "—",
    where: "the Access application's Audience (AUD) tag the board's JWTs must carry",
  },
  FOREMAN_ACCESS_EMAIL_DOMAIN: {
    default: "— (any identity Access let through)",
    where: "only Access identities whose email is at this domain may see /board",
  },
  FOREMAN_DRY_RUN: {
    default: "true",
    where: "global dry-run: workers' CRM writes are recorded as WOULD_DO instead of sent (per task: dry_run)",
  },
  FOREMAN_PUBLIC_URL: {
    default: "the request URL",
    where: "the public origin behind a proxy: HubSpot signs the URL it called; later also task links",
  },
  FOREMAN_MAX_BODY_BYTES: { default: "65536", where: "request body limit for the API and webhooks" },
  FOREMAN_OUTBOX_DRAIN_SECONDS: {
    default: "60",
    where: "Node: how often the outbox drain re-sends unsent events (Workers: the cron trigger)",
  },
  FOREMAN_OUTBOX_RETENTION_DAYS: { default: "7", where: "how long sent outbox rows are kept" },
  FOREMAN_WATCHDOG_STUCK_MINUTES: {
    default: "30",
    where:
      "watchdog: a working task with no task event for this long is stuck: its run is cancelled and retried once, then triaged (timeout)",
  },
  FOREMAN_WATCHDOG_LOST_MINUTES: {
    default: "15",
    where:
      "watchdog: an intake/ready task idle this long gets its event re-sent (doubling after each try); a CRM ticket behind this long is re-synced; a stamp wait this late past a due reminder, escalation or deadline is re-created",
  },
  FOREMAN_WATCHDOG_OUTBOX_MINUTES: {
    default: "15",
    where:
      "watchdog: an outbox event unsent for this long raises one Slack alert until the outbox drains again",
  },
  LOG_LEVEL: { default: "info", where: "logger level" },
  INNGEST_DEV: { default: "1 under `npm start`, unset otherwise", where: "Inngest dev mode (no signing)" },
  INNGEST_SIGNING_KEY: { default: "—", where: "Inngest Cloud request signing" },
  INNGEST_SIGNING_KEY_FALLBACK: { default: "—", where: "Inngest key rotation" },
  INNGEST_EVENT_KEY: { default: "—", where: "sending events to Inngest Cloud" },
  INNGEST_BASE_URL: { default: "Inngest Cloud", where: "self-hosted Inngest server URL" },
  HUBSPOT_ACCESS_TOKEN: {
    default: "—",
    where: "HubSpot private-app token: reading tickets and companies",
  },
  HUBSPOT_APP_SECRET: {
    default: "—",
    where: "HubSpot app client secret: verifies webhook signatures v3",
  },
  HUBSPOT_PORTAL_ID: { default: "—", where: "the HubSpot account whose webhooks are accepted" },
  HUBSPOT_PIPELINE_ID: {
    default: "— (every pipeline)",
    where: "the ticket pipeline whose tickets become tasks",
  },
  HUBSPOT_BASE_URL: {
    default: "https://api.hubapi.com",
    where: "HubSpot API base URL (tests point it at a fake)",
  },
  CRM_SYNC_DEBOUNCE: {
    default: "5s",
    where: "crm-sync: a task's state changes within this quiet period become one ticket write",
  },
  CRM_SYNC_DEBOUNCE_MAX: {
    default: "1m",
    where: "crm-sync: the longest a busy task's ticket write waits for its changes to settle",
  },
  CRM_SYNC_BATCH_WAIT: {
    default: "2s",
    where: "crm-push: how long ticket writes gather into one batch call (1s–60s; at most 100 tasks)",
  },
  CRM_SYNC_THROTTLE_LIMIT: {
    default: "40",
    where:
      "crm-push runs per CRM_SYNC_THROTTLE_PERIOD, account-wide; each makes ≤ 2 calls, so 40/10s stays under HubSpot's 100/10s",
  },
  CRM_SYNC_THROTTLE_PERIOD: { default: "10s", where: "the period of CRM_SYNC_THROTTLE_LIMIT" },
  ANTHROPIC_API_KEY: { default: "—", where: "primary model tier: Anthropic Messages API key" },
  ANTHROPIC_BASE_URL: {
    default: "https://api.anthropic.com",
    where: "Anthropic API base URL (tests point it at a fake)",
  },
  ANTHROPIC_MODEL: { default: "claude-sonnet-5-5", where: "the primary tier's model for workers" },
  OVERFLOW_BASE_URL: {
    default: "—",
    where: "overflow tier: any OpenAI-compatible API, used while the primary is rate-limited",
  },
  OVERFLOW_API_KEY: { default: "—", where: "overflow tier API key" },
  OVERFLOW_MODEL: { default: "gpt-4.1", where: "the overflow tier's model" },
  MODEL_PRICES: {
    default: "{} (built-in table)",
    where:
      'JSON: model → USD per million tokens {"input","output","cacheRead"?,"cacheWrite"?}; overrides the built-in table',
  },
  FOREMAN_DAILY_TOKEN_BUDGET: {
    default: "2000000",
    where: "daily token cap: the scheduler pauses when it is spent",
  },
  FOREMAN_DAILY_COST_BUDGET_USD: {
    default: "— (no cost cap)",
    where: "daily cost cap in USD, beside the token cap",
  },
  FOREMAN_TASK_TOKEN_CAP: {
    default: "250000",
    where:
      "per-task token cap: a task over it goes to triage; a person's retry out of triage starts its count afresh",
  },
  FOREMAN_MAX_TURNS: { default: "30", where: "most model turns in one work run" },
  FOREMAN_ENGINE_STEP_LIMIT: {
    default: "1000",
    where: "the engine's steps per run (Inngest: 1,000); a work run stops short of it and goes to triage",
  },
  SLACK_SIGNING_SECRET: {
    default: "—",
    where: "verifies /slack/interactions (Slack signing secret v0)",
  },
  SLACK_SIGNING_SECRET_PREVIOUS: {
    default: "—",
    where: "the previous Slack signing secret, accepted during rotation",
  },
  SLACK_BOT_TOKEN: {
    default: "—",
    where:
      "bot token (xoxb-…) for review cards, reminders and modals; unset = Slack posts are recorded, not sent",
  },
  SLACK_API_URL: {
    default: "https://slack.com/api/",
    where: "Slack Web API base URL (tests point it at a fake)",
  },
  SLACK_REVIEW_CHANNEL: { default: "—", where: "channel id where internal review cards are posted" },
  FOREMAN_STAMP_REMIND_HOURS: { default: "24", where: "hours before an unstamped review is nudged" },
  FOREMAN_STAMP_ESCALATE_HOURS: {
    default: "72",
    where: "hours before an unstamped review goes to the project's escalation reviewer",
  },
  FOREMAN_STAMP_TIMEOUT_DAYS: {
    default: "14",
    where: "days before an unstamped review ends as blocked_external (reason: no stamp)",
  },
  STAMP_LINK_KEY: { default: "—", where: "signs client stamp links /stamp/:token (≥ 32 chars)" },
  STAMP_LINK_KEY_PREVIOUS: {
    default: "—",
    where: "the previous link key, still accepted during rotation",
  },
  STAMP_LINK_TTL_DAYS: {
    default: "14",
    where: "how long a client stamp link stays valid; at least FOREMAN_STAMP_TIMEOUT_DAYS",
  },
  FOREMAN_REVIEW_FALLBACK: {
    default: "false",
    where:
      "on the last retry of a review whose local model is down, ask the overflow tier (OVERFLOW_*) instead of parking; recorded as such",
  },
  FOREMAN_REVIEW_RETRY_MINUTES: {
    default: "30",
    where:
      "how long a review keeps retrying a local model that is down (doubling pauses) before it is parked",
  },
  FOREMAN_REVIEW_MAX_PARKINGS: {
    default: "6",
    where:
      "how many times one deliverable's review may be parked (its model down) before the task goes to failed_needs_triage; a failure retrying cannot help (a refused bridge token) goes there at once",
  },
  FOREMAN_DIGEST_TZ: {
    default: "UTC",
    where: "the digest's time zone: when its crons fire and where its days begin (IANA name)",
  },
  FOREMAN_DIGEST_CRON: {
    default: "0 8 * * 1-5",
    where:
      "the daily digest's schedule in FOREMAN_DIGEST_TZ (covers the days since its last firing); off = never",
  },
  FOREMAN_DIGEST_WEEKLY_CRON: {
    default: "0 8 * * 1",
    where: "the weekly digest's schedule in FOREMAN_DIGEST_TZ (covers the 7 days before); off = never",
  },
  FOREMAN_DIGEST_CHANNEL: {
    default: "SLACK_REVIEW_CHANNEL",
    where: "channel id the daily and weekly digests are posted to",
  },
  BRIDGE_URL: { default: "—", where: "GPU bridge base URL for the local model tier" },
  BRIDGE_TOKEN: { default: "—", where: "GPU bridge bearer token" },
  LOCAL_MODEL: { default: "local", where: "model name requested from the GPU bridge" },
};

/** Variables that must never be committed to wrangler.toml [vars]. */
export const SECRET_VARIABLES: readonly (keyof Config)[] = [
  "DATABASE_URL",
  "FOREMAN_API_TOKEN",
  "INNGEST_SIGNING_KEY",
  "INNGEST_SIGNING_KEY_FALLBACK",
  "INNGEST_EVENT_KEY",
  "BRIDGE_TOKEN",
  "HUBSPOT_ACCESS_TOKEN",
  "HUBSPOT_APP_SECRET",
  "ANTHROPIC_API_KEY",
  "OVERFLOW_API_KEY",
  "STAMP_LINK_KEY",
  "STAMP_LINK_KEY_PREVIOUS",
  "SLACK_SIGNING_SECRET",
  "SLACK_SIGNING_SECRET_PREVIOUS",
  "SLACK_BOT_TOKEN",
];

export const isDevMode = (config: Config): boolean =>
  config.INNGEST_DEV !== undefined && !["0", "false"].includes(config.INNGEST_DEV);

/** Parses env once. Throws a CONFIG DomainError whose message lists every bad variable. */
export function loadConfig(env: Record<string, unknown>, runtime: Runtime): Config {
  const known: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key];
    // Empty strings mean "unset" (an `X=` line in .env files), not an invalid value.
    if (typeof value === "string" && value !== "") known[key] = value;
  }
  const parsed = configSchema.safeParse(known);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${String(i.path[0] ?? "?")}: ${i.message}`);
  if (parsed.success && parsed.data.BRIDGE_URL && !parsed.data.BRIDGE_TOKEN) {
    problems.push("BRIDGE_TOKEN: required when BRIDGE_URL is set (the bridge refuses unauthenticated calls)");
  }
  if (parsed.success && !parsed.data.FOREMAN_ACCESS_TEAM_DOMAIN !== !parsed.data.FOREMAN_ACCESS_AUD) {
    problems.push(
      "FOREMAN_ACCESS_AUD: FOREMAN_ACCESS_TEAM_DOMAIN and FOREMAN_ACCESS_AUD go together (an Access JWT is checked against both)",
    );
  }
  if (parsed.success && parsed.data.FOREMAN_STAMP_REMIND_HOURS >= parsed.data.FOREMAN_STAMP_ESCALATE_HOURS) {
    problems.push("FOREMAN_STAMP_ESCALATE_HOURS: must be later than FOREMAN_STAMP_REMIND_HOURS");
  }
  if (
    parsed.success &&
    parsed.data.FOREMAN_STAMP_ESCALATE_HOURS >= parsed.data.FOREMAN_STAMP_TIMEOUT_DAYS * 24
  ) {
    problems.push("FOREMAN_STAMP_TIMEOUT_DAYS: must be later than FOREMAN_STAMP_ESCALATE_HOURS");
  }
  // The client's link is minted when the client stage opens and not re-sent while it waits: a link
  // that dies first leaves the client a dead link for the rest of the stage.
  if (parsed.success && parsed.data.STAMP_LINK_TTL_DAYS < parsed.data.FOREMAN_STAMP_TIMEOUT_DAYS) {
    problems.push(
      `STAMP_LINK_TTL_DAYS: ${parsed.data.STAMP_LINK_TTL_DAYS} is shorter than FOREMAN_STAMP_TIMEOUT_DAYS (${parsed.data.FOREMAN_STAMP_TIMEOUT_DAYS}): the client's link would expire while the client stage still waits; make it at least as long`,
    );
  }
  if (parsed.success && runtime === "worker") {
    const c = parsed.data;
    if (!c.DATABASE_URL)
      problems.push("DATABASE_URL: required on Workers (set it with `wrangler secret put`)");
    if (!c.FOREMAN_API_TOKEN) problems.push("FOREMAN_API_TOKEN: required on Workers");
    if (!isDevMode(c) && !c.INNGEST_SIGNING_KEY) {
      problems.push("INNGEST_SIGNING_KEY: required unless INNGEST_DEV is set");
    }
  }
  if (problems.length > 0 || !parsed.success) {
    throw new DomainError("CONFIG", `Invalid configuration:\n  - ${problems.join("\n  - ")}`, {
      details: { problems },
    });
  }
  return parsed.data;
}

/**
 * Some variables read before any request — function registrations (debounce, throttle, crons) are
 * built when their module loads — parsed by the same schema as every other variable, empty meaning
 * unset as in loadConfig. A bad value fails the load with a message naming it under `label`.
 */
export function parseConfigSubset<K extends keyof Config>(
  keys: Record<K, true>,
  env: Record<string, string | undefined>,
  label: string,
): Pick<Config, K> {
  const known = Object.fromEntries(Object.keys(keys).map((k) => [k, env[k] || undefined]));
  const parsed = configSchema.pick(keys as Parameters<typeof configSchema.pick>[0]).safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new DomainError("CONFIG", `Invalid ${label}: ${problems}`);
  }
  return parsed.data as Pick<Config, K>;
}

/** The environment a module is loaded in (Node: process.env; Workers with nodejs_compat: the
 *  bindings, which it exposes there), empty where there is none: defaults apply. */
export const loadEnv = (): Record<string, string | undefined> =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
