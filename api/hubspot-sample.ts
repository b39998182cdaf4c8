// `npm run hubspot:sample -- --url http://127.0.0.1:8787`: posts a realistic HubSpot webhook batch —
// one ticket created (classic `ticket.creation`, an id above 2^32) — signed with HUBSPOT_APP_SECRET
// exactly as HubSpot signs it (v3), and prints the answer. The server must run with the same secret;
// it then lists the task under GET /api/tasks. The signed URL is the one the server checks:
// FOREMAN_PUBLIC_URL + /webhooks/hubspot when set, else `${url}/webhooks/hubspot`.
//
// Options: --url <base> (default http://127.0.0.1:$PORT), --ticket <id> (default: random),
//          --portal <id> (default HUBSPOT_PORTAL_ID or 62515).
import { parseArgs } from "node:util";
import { loadConfig } from "../lib/config.ts";
import { isDomainError } from "../lib/errors.ts";
import { SIGNATURE_HEADER, signatureV3, signedUri, TIMESTAMP_HEADER } from "../lib/hubspot/signature.ts";

export function sampleBatch(opts: { ticketId: string; portalId: number; now: number }): string {
  // Written as text, not JSON.stringify'd objects, so the 64-bit-sized id goes out as a JSON number
  // the way HubSpot sends it, digit for digit.
  const event = [
    `"eventId":${100_000 + Math.floor(Math.random() * 900_000)}`,
    `"subscriptionId":2456789`,
    `"portalId":${opts.portalId}`,
    `"appId":1234567`,
    `"occurredAt":${opts.now - 1500}`,
    `"subscriptionType":"ticket.creation"`,
    `"attemptNumber":0`,
    `"objectId":${opts.ticketId}`,
    `"changeFlag":"CREATED"`,
    `"changeSource":"CRM_UI"`,
    `"sourceId":"userId:8675309"`,
  ];
  return `[{${event.join(",")}}]`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { url: { type: "string" }, ticket: { type: "string" }, portal: { type: "string" } },
  });
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env, "node");
  } catch (err) {
    console.error(isDomainError(err) ? err.message : err);
    process.exit(1);
  }
  const secret = config.HUBSPOT_APP_SECRET;
  if (!secret) {
    console.error(
      "HUBSPOT_APP_SECRET is not set. Put the same value in .env for `npm start` and this script, e.g.\n" +
        "  echo HUBSPOT_APP_SECRET=dev-hubspot-secret >> .env   (then restart npm start)",
    );
    process.exit(1);
  }
  const base = (values.url ?? `http://127.0.0.1:${config.PORT}`).replace(/\/+$/, "");
  const ticketId = values.ticket ?? String(2 ** 33 + Math.floor(Math.random() * 1e9));
  if (!/^\d{1,20}$/.test(ticketId)) {
    console.error("--ticket must be a numeric HubSpot ticket id");
    process.exit(1);
  }
  const portalId = Number(values.portal ?? config.HUBSPOT_PORTAL_ID ?? 62515);
  const now = Date.now();
  const body = sampleBatch({ ticketId, portalId, now });
  const target = `${base}/webhooks/hubspot`;
  const timestamp = String(now);
  const signature = signatureV3(
    secret,
    "POST",
    signedUri(target, config.FOREMAN_PUBLIC_URL),
    body,
    timestamp,
  );

  console.log(`POST ${target}  (ticket ${ticketId}, portal ${portalId})`);
  let res: Response;
  try {
    res = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signature,
        [TIMESTAMP_HEADER]: timestamp,
      },
      body,
    });
  } catch (err) {
    console.error(
      `Could not reach ${base}: ${(err as Error).cause ?? (err as Error).message}. Is npm start running?`,
    );
    process.exit(1);
  }
  console.log(`${res.status} ${res.statusText}`);
  console.log(await res.text());
  if (!res.ok) process.exit(1);
  console.log(`ticket ${ticketId}: GET ${base}/api/tasks?state=intake lists its task (source hubspot).`);
}

if (import.meta.main) await main();
