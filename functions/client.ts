// The Inngest client. Mode comes from the environment (INNGEST_DEV / signing keys), never hard-coded.
// Checkpointing runs several steps per request; maxRuntime stays below the Workers request limit so a
// long run hands back to Inngest before the platform kills it.
import { ConsoleLogger, Inngest } from "inngest";
import type { Config } from "../lib/config.ts";
import type { EventSender } from "../lib/deps.ts";
import { DepsMiddleware, ErrorMiddleware } from "./middleware.ts";

export const inngest = new Inngest({
  id: "foreman",
  logger: new ConsoleLogger({ level: "info" }),
  checkpointing: { maxRuntime: "25s" },
  // DepsMiddleware first: its deps check runs before anything the handler chain does.
  middleware: [DepsMiddleware, ErrorMiddleware],
});

/**
 * The production EventSender: Inngest's send (which validates `.create()` payloads before sending).
 * The client is built at module load, before configuration is parsed, so the Inngest variables from
 * the parsed config are merged in here (per request on Workers, where env arrives with the request).
 */
export function inngestSender(config: Config): EventSender {
  const env: Record<string, string> = {};
  for (const key of INNGEST_VARIABLES) {
    const value = config[key];
    if (value !== undefined) env[key] = value;
  }
  inngest.setEnvVars(env);
  return {
    send: (events) => inngest.send(events as Parameters<typeof inngest.send>[0]),
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
