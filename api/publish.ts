// Sending what a request's statement wrote to the outbox, and telling the caller when it could not
// go out yet. The rows are committed with the change, so an unreachable engine never loses an event:
// the answer still succeeds, carrying a warning that names the events and says the drain re-sends them.
import type { Context } from "hono";
import type { OutboxMessage } from "../lib/outbox/message.ts";
import { type PublishResult, publish } from "../lib/outbox/publish.ts";
import { within } from "./background.ts";
import type { AppEnv } from "./env.ts";

/** How long an answer waits for its events to go out; past it they carry on in the background. */
const ANSWER_PUBLISH_MS = 2_000;

/** The warning for a send that failed (or is still in flight: `sent` undefined); none when it went out. */
export function queuedWarnings(outbox: readonly OutboxMessage[], sent: PublishResult | undefined): string[] {
  if (outbox.length === 0 || (sent !== undefined && sent.error === undefined)) return [];
  const names = [...new Set(outbox.map((m) => m.name))];
  const what = names.length === 1 && outbox.length === 1 ? `${names[0]} is` : `${names.join(", ")} are`;
  if (sent === undefined) return [`${what} recorded and still being sent to the engine.`];
  if (sent.refused)
    return [
      `${what} refused by the engine and set aside, not re-sent (GET /health counts them): ${sent.error}.`,
    ];
  return [`${what} queued: the engine is unreachable (${sent.error}); re-sent automatically.`];
}

/**
 * Publishes the rows and returns the warnings for the answer (an empty list when all went out). A slow
 * engine costs the answer at most ANSWER_PUBLISH_MS: the send goes on, and the drain covers it.
 */
export async function publishForAnswer(
  c: Context<AppEnv>,
  outbox: readonly OutboxMessage[],
): Promise<string[]> {
  if (outbox.length === 0) return [];
  const sent = await within(c, publish(c.get("deps"), [...outbox]), ANSWER_PUBLISH_MS);
  return queuedWarnings(outbox, sent);
}
