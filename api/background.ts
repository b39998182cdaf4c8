// Work a response should not wait for beyond a bound: the answer goes out after `ms` at the latest and
// the work carries on — through the Worker's waitUntil, or simply in the Node process. Slack gives an
// interaction 3 s and HubSpot a webhook 5 s; a slow engine or Slack API must not cost the answer.
import type { Context } from "hono";
import type { OutboxMessage } from "../lib/outbox/message.ts";
import { type PublishResult, publish } from "../lib/outbox/publish.ts";
import type { AppEnv } from "./env.ts";

/** Resolves with the work's result, or undefined once `ms` have passed (the work keeps running). */
export async function within<T>(c: Context<AppEnv>, work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const result = await Promise.race([
    work,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]);
  clearTimeout(timer);
  if (result === undefined) {
    // The request's resources (its database pool on Workers) are released only after this settles.
    c.get("background")?.push(work);
    try {
      c.executionCtx.waitUntil(work.catch(() => undefined));
    } catch {
      // Node: no execution context; the work carries on in the process.
    }
  }
  return result;
}

/** Publishes outbox rows, waiting at most `ms`; unsent rows stay in the outbox for the drain. */
export const publishWithin = (
  c: Context<AppEnv>,
  outbox: OutboxMessage[],
  ms: number,
): Promise<PublishResult | undefined> => within(c, publish(c.get("deps"), outbox), ms);
