// The Inngest client. Mode comes from the environment (INNGEST_DEV / signing keys), never hard-coded.
// Checkpointing runs several steps per request; maxRuntime stays below the Workers request limit so a
// long run hands back to Inngest before the platform kills it.
import { ConsoleLogger, Inngest } from "inngest";
import type { Config } from "../lib/config.ts";
import type { EventSender } from "../lib/deps.ts";
import { type EventPost, eventApiTarget, sendToEventApi } from "../lib/outbox/event-api.ts";
import { DepsMiddleware, ErrorMiddleware } from "./middleware.ts";

export const inngest = new Inngest({
  id: "foreman",
  logger: new ConsoleLogger({ level: "info" }),
  checkpointing: { maxRuntime: "25s" },
  // DepsMiddleware first: its deps check runs before anything the handler chain does.
  middleware: [DepsMiddleware, ErrorMiddleware],
});

/**
 * The production EventSender. Events go to the event API this client resolves (lib/outbox/event-api.ts:
 * the SDK's URL, key and headers, our own lean request; `.create()` payloads are validated first);
 * scores go through the SDK. The client is built at module load, before configuration is parsed, so
 * the Inngest variables from the parsed config are merged in here (per request on Workers, where env
 * arrives with the request). `post` is the transport: fetch unless the Node server passes its own.
 */
export function inngestSender(config: Config, opts: { post?: EventPost } = {}): EventSender {
  // Every variable, unset ones as undefined: setEnvVars merges, and a key from an earlier config must
  // not outlive it.
  const env: Record<string, string | undefined> = {};
  for (const key of INNGEST_VARIABLES) env[key] = config[key];
  inngest.setEnvVars(env);
  const target = eventApiTarget(inngest);
  return {
    send: (events) => sendToEventApi(target, events, opts.post),
    score: (s) => inngest.score({ runId: s.runId, name: s.name, value: s.value }),
  };
}

const INNGEST_VARIABLES = [
  "INNGEST_DEV",
  "INNGEST_EVENT_KEY",
  "INNGEST_SIGNING_KEY",
  "INNGEST_SIGNING_KEY_FALLBACK",
  "INNGEST_BASE_URL",
] as const;
