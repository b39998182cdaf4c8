// The one place the HubSpot SDK client is built. Tests point HUBSPOT_BASE_URL at a local fake. The
// SDK's own retries stay at their minimum (one attempt): Inngest's step retries own the retrying, and
// the SDK's decorators are process-wide, so every client here is built with the same options and its
// APIs are touched right away (see ../shared/notes/hubspot-slack.md §1).
import { Client } from "@hubspot/api-client";

export interface HubSpotOptions {
  accessToken: string;
  baseUrl: string;
}

export type HubSpotClient = Client;

export function createHubSpotClient(opts: HubSpotOptions): HubSpotClient {
  const client = new Client({
    accessToken: opts.accessToken,
    basePath: opts.baseUrl,
    numberOfApiCallRetries: 1,
  });
  // Build the lazily created APIs now, under this client's decorators.
  void client.crm.tickets;
  void client.crm.companies;
  // The CRM tools' APIs (lib/tools): objects (search, update), notes, properties, pipelines.
  void client.crm.objects.notes;
  void client.crm.properties;
  void client.crm.pipelines;
  return client;
}
