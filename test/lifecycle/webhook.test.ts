// Lifecycle from HubSpot to ready: a signed ticket-creation batch (classic and object.* formats, ids
// above 2^32) becomes tasks in intake synchronously; the router then runs intake, which reads each
// ticket from the HubSpot fake, creates the company's project, triages with the local model, and
// moves the task to ready with the triage reason — every step in the event log.
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projects, taskEvents, tasks } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { SIGNATURE_HEADER, signatureV3, TIMESTAMP_HEADER } from "../../lib/hubspot/signature.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { routeEvents } from "../lifecycle.ts";

const t = useTestDb();
// Intake and promotion only: scheduling and work have their own lifecycle tests.
const intakeStage = functions.filter((f) => ["intake", "promote"].includes(f.id()));
const SECRET = "lifecycle-hubspot-secret";
let hubspot: FakeHubSpot;
let model: OpenAIUpstream;
beforeAll(async () => {
  [hubspot, model] = await Promise.all([
    startFakeHubSpot(),
    startOpenAIUpstream({
      json: {
        worker: "crm-setup",
        priority: "P2",
        rubric: ["The requested HubSpot change is live and verifiable"],
        internal_stamp_required: true,
        reason: "HubSpot configuration work for the CRM worker",
      },
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([hubspot?.close(), model?.close()]);
});

describe("lifecycle: signed HubSpot webhook → intake → ready", () => {
  it("records tasks synchronously, then enriches, triages and readies them", async () => {
    const api = testApp(t.current.db, {
      HUBSPOT_APP_SECRET: SECRET,
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
      BRIDGE_URL: model.url,
      BRIDGE_TOKEN: "bridge-token",
      LOCAL_MODEL: model.behaviour.model,
    });
    const classic = String(2 ** 32 + 4242 + Math.floor(Math.random() * 1e6));
    const generic = String(2 ** 32 + 9999 + Math.floor(Math.random() * 1e6));
    hubspot.addCompany(`co-${classic}`, { name: `Northwind ${classic}` });
    hubspot.addTicket({
      id: classic,
      properties: { subject: "Activate Service Hub for Northwind", content: "Set up the support pipeline." },
      companyIds: [`co-${classic}`],
    });
    hubspot.addTicket({ id: generic, properties: { subject: "Create the renewal_date property" } });
    const now = Date.now();
    const body = `[${[
      `{"eventId":101,"subscriptionId":11,"portalId":62515,"appId":7,"occurredAt":${now},"subscriptionType":"ticket.creation","attemptNumber":0,"objectId":${classic},"changeSource":"CRM_UI"}`,
      `{"eventId":102,"subscriptionId":12,"portalId":62515,"appId":7,"occurredAt":${now + 1},"subscriptionType":"object.creation","objectTypeId":"0-5","attemptNumber":0,"objectId":${generic},"changeSource":"CRM_UI"}`,
    ].join(",")}]`;
    const url = "http://localhost/webhooks/hubspot";
    const ts = String(now);
    const res = await api.app.request(url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signatureV3(SECRET, "POST", url, body, ts),
        [TIMESTAMP_HEADER]: ts,
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ created: 2 });
    const recorded = await t.current.db
      .select()
      .from(tasks)
      .where(inArray(tasks.sourceRef, [classic, generic]));
    expect(recorded.map((r) => r.status)).toEqual(["intake", "intake"]);

    const runs = await routeEvents(intakeStage, api.deps, api.events);
    expect(runs.filter((r) => r.fn === "intake").map((r) => r.error)).toEqual([undefined, undefined]);

    const [northwind] = await t.current.db
      .select()
      .from(projects)
      .where(eq(projects.hubspotCompanyId, `co-${classic}`));
    for (const ref of [classic, generic]) {
      const [task] = await t.current.db.select().from(tasks).where(eq(tasks.sourceRef, ref));
      expect(task).toMatchObject({ status: "ready", source: "hubspot", requiresInternalStamp: true });
      expect(task?.statusReason).toBe("triaged (local-model): HubSpot configuration work for the CRM worker");
      const log = await t.current.db
        .select()
        .from(taskEvents)
        .where(eq(taskEvents.taskId, task?.id as string))
        .orderBy(taskEvents.id);
      expect(log.map((e) => e.kind)).toEqual(["submitted", "enriched", "triage", "state_changed"]);
      expect(log.map((e) => e.actor)).toEqual(["hubspot", "fn:intake", "fn:intake", "fn:intake"]);
    }
    const [first] = await t.current.db.select().from(tasks).where(eq(tasks.sourceRef, classic));
    expect(first).toMatchObject({ title: "Activate Service Hub for Northwind", projectId: northwind?.id });
  });
});
