// The one injected dependency bag. Entry points build it (Node once, Workers per request) and hand it
// to the Hono app and, through a middleware, to every Inngest function. Tests build it with fakes.
import type { AppDb } from "../db/types.ts";
import type { Config } from "./config.ts";
import type { OutgoingEvent } from "./events.ts";
import { createHubSpotClient, type HubSpotClient } from "./hubspot/client.ts";
import { createModelClients, type ModelClients } from "./llm/clients.ts";
import { createLocalModel, type LocalModel } from "./llm/local.ts";
import { createSlackClient, type SlackClient } from "./slack/client.ts";

export interface EventSender {
  /** Sends events to Inngest. Each event is schema-validated before anything leaves the process. */
  send(events: OutgoingEvent | OutgoingEvent[]): Promise<{ ids: string[] }>;
  /** Writes a score on a run (Inngest scores: the AI reviewer's verdict is one), where supported. */
  score?(s: { runId: string; name: string; value: number | boolean }): Promise<void>;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface Deps {
  config: Config;
  db: AppDb;
  /** Which database driver is in use (reported by /health). */
  dbKind: "pglite" | "postgres" | "neon";
  events: EventSender;
  logger: Logger;
  now: () => Date;
  version: string;
  /** The local model tier behind the GPU bridge; undefined when BRIDGE_URL is not configured. */
  local: LocalModel | undefined;
  /** The reviewer of last resort (FOREMAN_REVIEW_FALLBACK): the overflow tier, asked like the local one. */
  reviewFallback: LocalModel | undefined;
  /** The HubSpot client; undefined when HUBSPOT_ACCESS_TOKEN is not configured. */
  hubspot: HubSpotClient | undefined;
  /** The Slack Web API client; undefined when SLACK_BOT_TOKEN is not configured. */
  slack: SlackClient | undefined;
  /** The worker model tiers: primary (Anthropic) and overflow (OpenAI-compatible), when configured. */
  models: ModelClients;
}

/** Builds Deps from the parts each entry point owns (database, event sender). */
export function createDeps(parts: Pick<Deps, "config" | "db" | "dbKind" | "events" | "version">): Deps {
  const { config } = parts;
  return {
    ...parts,
    logger: consoleLogger(config.LOG_LEVEL),
    now: () => new Date(),
    local:
      config.BRIDGE_URL && config.BRIDGE_TOKEN
        ? createLocalModel({
            baseUrl: config.BRIDGE_URL,
            token: config.BRIDGE_TOKEN,
            model: config.LOCAL_MODEL,
          })
        : undefined,
    models: createModelClients(config),
    reviewFallback:
      config.FOREMAN_REVIEW_FALLBACK && config.OVERFLOW_BASE_URL
        ? createLocalModel({
            baseUrl: config.OVERFLOW_BASE_URL,
            token: config.OVERFLOW_API_KEY ?? "none",
            model: config.OVERFLOW_MODEL,
          })
        : undefined,
    slack: config.SLACK_BOT_TOKEN
      ? createSlackClient({ token: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL })
      : undefined,
    hubspot: config.HUBSPOT_ACCESS_TOKEN
      ? createHubSpotClient({ accessToken: config.HUBSPOT_ACCESS_TOKEN, baseUrl: config.HUBSPOT_BASE_URL })
      : undefined,
  };
}

const LEVELS = ["debug", "info", "warn", "error"] as const;

/** A JSON-lines console logger honouring LOG_LEVEL. */
export function consoleLogger(level: Config["LOG_LEVEL"]): Logger {
  const min = LEVELS.indexOf(level);
  const log =
    (l: (typeof LEVELS)[number]) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(l) < min) return;
      const line = JSON.stringify({ level: l, msg, ...fields, at: new Date().toISOString() });
      if (l === "error" || l === "warn") console.error(line);
      else console.log(line);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
