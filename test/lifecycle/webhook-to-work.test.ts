// The dispatch issue's acceptance, end to end through the router: a signed HubSpot ticket-creation
// webhook becomes a task, intake enriches and triages it, the scheduler leases the day-1 crm-setup
// slot, the worker works it in dry-run (a read, a WOULD_DO write, submit) to task/work.submitted —
// and GET /api/tasks/:id shows the turns, the tools, the WOULD_DO and the cost. Orchestration stays
// cheap: engine steps beyond the agent's own turns and tool calls are counted and held to ≤ 12.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tasks, workerLeases } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { SIGNATURE_HEADER, signatureV3, TIMESTAMP_HEADER } from "../../lib/hubspot/signature.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { toolTurn } from "../fakes/model-script.ts";
import { routeEvents, stepsPerTask } from "../lifecycle.ts";

const t = useTestDb();
// Up to task/work.submitted: the review stage has its own lifecycle test.
const untilSubmitted = functions.filter((f) => f.id() !== "review");
const SECRET = "lifecycle-dispatch-secret";
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
beforeAll(async () => {
  [anthropic, hubspot] = await Promise.all([startAnthropicFake(), startFakeHubSpot()]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), hubspot?.close()]);
});
type Json = Record<string, any>;

describe("lifecycle: signed webhook → … → task/work.submitted (dry-run)", () => {
  it("works a HubSpot ticket to a submitted deliverable and shows it all on the task", async () => {
    await t.current.db.delete(workerLeases);
    const api = testApp(t.current.db, {
      HUBSPOT_APP_SECRET: SECRET,
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      FOREMAN_DRY_RUN: "true",
    });
    const ticket = String(2 ** 32 + 77_000 + Math.floor(Math.random() * 1e6));
    hubspot.addTicket({
      id: ticket,
      properties: { subject: "Add a renewal date to tickets", content: "A date property." },
    });
    anthropic.queue(
      toolTurn("hubspot_get_properties", { objectType: "tickets" }, { usage: { input: 2000, output: 60 } }),
      toolTurn("hubspot_create_property", {
        objectType: "tickets",
        name: "renewal_date",
        label: "Renewal date",
        type: "date",
        fieldType: "date",
        groupName: "ticketinformation",
      }),
      toolTurn("submit", {
        markdown: "# Renewal date\nWould create `renewal_date` (dry-run).",
        result: { wouldCreate: ["renewal_date"] },
      }),
    );
    const now = Date.now();
    const body = `[{"eventId":7,"subscriptionId":70,"portalId":62515,"appId":7,"occurredAt":${now},"subscriptionType":"ticket.creation","attemptNumber":0,"objectId":${ticket},"changeSource":"CRM_UI"}]`;
    const url = "http://localhost/webhooks/hubspot";
    const res = await api.app.request(url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        [SIGNATURE_HEADER]: signatureV3(SECRET, "POST", url, body, String(now)),
        [TIMESTAMP_HEADER]: String(now),
      },
    });
    expect(res.status).toBe(200);

    const runs = await routeEvents(untilSubmitted, api.deps, api.events);
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    const [task] = await t.current.db.select().from(tasks).where(eq(tasks.sourceRef, ticket));
    const submitted = api.events.sent.filter((e) => e.name === "task/work.submitted");
    expect(submitted.map((e) => (e.data as { taskId: string }).taskId)).toEqual([task?.id]);
    expect(
      hubspot.calls.filter((c) => c.method === "POST" && c.path.startsWith("/crm/v3/properties")),
    ).toHaveLength(0);

    const shown = (await (await api.request(`/api/tasks/${task?.id}?events_limit=100`)).json()) as Json;
    const kinds = (shown.timeline as Json[]).map((e) => e.kind);
    expect(kinds.filter((k) => k === "worker_turn")).toHaveLength(3);
    expect(kinds.filter((k) => k === "tool_call")).toHaveLength(3);
    const wouldDo = (shown.timeline as Json[]).find((e) => e.kind === "would_do");
    expect(wouldDo?.payload).toMatchObject({ method: "POST", path: "/crm/v3/properties/tickets" });
    expect(shown.usage).toMatchObject({ calls: 3, cache_read_tokens: 0, cache_write_tokens: 0 });
    expect(shown.usage.tokens_in).toBeGreaterThanOrEqual(2000);
    expect(shown.usage.cost_usd).toBeGreaterThan(0);

    // Orchestration cost: engine steps beyond the agent's 3 turns and 3 tool calls.
    const steps = stepsPerTask(runs).get(task?.id as string) ?? 0;
    expect(steps - 6).toBeLessThanOrEqual(12);
  });
});
