// POST /webhooks/hubspot: HubSpot's webhook deliveries (DESIGN §8). In order:
//   1. HUBSPOT_APP_SECRET unset → 503: the endpoint is not configured (a server-side problem, not the
//      sender's; HubSpot keeps re-delivering for about a day, so setting the secret recovers them).
//   2. The raw body (the app's body limit → 413) and signature v3 over it (lib/hubspot/signature.ts)
//      → 401 naming the problem; nothing is read further and nothing is recorded.
//   3. Parse (not JSON, not an array of 1–100 objects → 400) and classify (lib/hubspot/webhook.ts).
//   4. Record the whole batch with ONE submitMany statement: the tasks of created tickets (unique on
//      the ticket id, so re-deliveries collapse in the database) and the stage-change outbox rows
//      (unique on their composite-key ids). Only a failure here answers 5xx, so HubSpot retries.
//   5. Publish the outbox rows (bounded wait: HubSpot gives up after 5 s; unsent rows stay for the
//      drain) and answer 200 with counts. created + duplicates + stage_changes + ignored = events.
import { Hono } from "hono";
import { isDomainError } from "../../lib/errors.ts";
import {
  SIGNATURE_HEADER,
  signedUri,
  TIMESTAMP_HEADER,
  verifySignatureV3,
} from "../../lib/hubspot/signature.ts";
import { classifyBatch, parseWebhookBody, WebhookBodyError } from "../../lib/hubspot/webhook.ts";
import type { OutboxMessage } from "../../lib/outbox/message.ts";
import { type SubmitOutcome, submitMany } from "../../lib/tasks/submit.ts";
import { publishWithin } from "../background.ts";
import type { AppEnv } from "../env.ts";
import { errorResponse } from "../errors.ts";
import { queuedWarnings } from "../publish.ts";

/** How long the answer waits for the engine to take the events before saying they are queued. */
const PUBLISH_WAIT_MS = 1500;

/** A replay, or a ticket whose task was first recorded with a different title: the task exists. */
const isDuplicate = (o: SubmitOutcome): boolean => ("error" in o ? o.error.code === "CONFLICT" : !o.created);

export const hubspotWebhookRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const deps = c.get("deps");
  const secret = deps.config.HUBSPOT_APP_SECRET;
  if (!secret) {
    return errorResponse(
      c,
      503,
      "UNAVAILABLE",
      "HubSpot webhooks are not configured: set HUBSPOT_APP_SECRET (the app's client secret) to verify their signatures.",
      { field: "HUBSPOT_APP_SECRET" },
    );
  }

  const body = new Uint8Array(await c.req.arrayBuffer());
  const check = verifySignatureV3({
    secret,
    method: c.req.method,
    uri: signedUri(c.req.url, deps.config.FOREMAN_PUBLIC_URL),
    body,
    signature: c.req.header(SIGNATURE_HEADER),
    timestamp: c.req.header(TIMESTAMP_HEADER),
    now: deps.now().getTime(),
  });
  if (!check.ok) {
    deps.logger.warn("hubspot webhook refused", { problem: check.problem, requestId: c.get("requestId") });
    return errorResponse(c, 401, "UNAUTHORIZED", check.reason, {
      field: check.problem === "mismatch" ? "X-HubSpot-Signature-v3" : undefined,
      details: { problem: check.problem },
    });
  }

  let events: Record<string, unknown>[];
  try {
    events = parseWebhookBody(new TextDecoder().decode(body));
  } catch (err) {
    if (err instanceof WebhookBodyError)
      return errorResponse(c, 400, "VALIDATION", err.message, { field: "body" });
    throw err;
  }
  const batch = classifyBatch(events, { portalId: deps.config.HUBSPOT_PORTAL_ID });
  if (batch.ignored.length > 0) {
    deps.logger.info("hubspot webhook: events ignored", {
      requestId: c.get("requestId"),
      ignored: batch.ignored.length,
      events: batch.ignored.slice(0, 20),
    });
  }

  let outcomes: SubmitOutcome[];
  try {
    outcomes = await submitMany(deps.db, batch.items, { events: batch.stageChanges });
  } catch (err) {
    deps.logger.error("hubspot webhook: the batch could not be recorded", {
      requestId: c.get("requestId"),
      error: String(err),
    });
    const why = isDomainError(err) ? `: ${err.message}` : "";
    return errorResponse(
      c,
      503,
      "UNAVAILABLE",
      `The batch could not be recorded${why}; nothing was acknowledged, so HubSpot re-delivers it.`,
    );
  }

  const outbox: OutboxMessage[] = [];
  let created = 0;
  let duplicates = batch.repeated;
  for (const o of outcomes) {
    if ("error" in o) {
      // submitMany answers per item only with CONFLICT; anything else would be a new kind of outcome.
      if (isDuplicate(o)) duplicates++;
      else deps.logger.warn("hubspot webhook: item not recorded", { error: o.error.message });
      continue;
    }
    if (isDuplicate(o)) duplicates++;
    else created++;
    outbox.push(...o.outbox);
  }
  // Stage changes are published every time: a re-delivered one carries the id already recorded, and
  // the engine ignores an id it has seen.
  outbox.push(...batch.stageChanges);

  const warnings = queuedWarnings(outbox, await publishWithin(c, outbox, PUBLISH_WAIT_MS));
  deps.logger.info("hubspot webhook recorded", {
    requestId: c.get("requestId"),
    events: events.length,
    created,
    duplicates,
    stage_changes: batch.stageChanges.length,
    ignored: batch.ignored.length,
  });
  return c.json(
    {
      created,
      duplicates,
      stage_changes: batch.stageChanges.length,
      ignored: batch.ignored.length,
      ...(warnings.length ? { warnings } : {}),
    },
    200,
  );
});
