// The engine of the product end to end through the test router: a task submitted through the API is
// triaged (rules: no local model here), scheduled onto the single crm-setup slot, worked by the agent
// (three tool turns against the model and HubSpot fakes, dry-run), and ends in task/work.submitted
// with a stored deliverable and the slot free again — every turn and tool in the event log, and the
// engine steps per task counted.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deliverables, taskEvents, tasks, workerLeases } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { toolTurn } from "../fakes/model-script.ts";
import { routeEvents, stepsPerTask } from "../lifecycle.ts";

const t = useTestDb();
// Up to task/work.submitted: the review stage has its own lifecycle test.
const untilSubmitted = functions.filter((f) => f.id() !== "review");
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
beforeAll(async () => {
  [anthropic, hubspot] = await Promise.all([startAnthropicFake(), startFakeHubSpot()]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), hubspot?.close()]);
});

describe("lifecycle: API → intake → schedule → work → task/work.submitted", () => {
  it("runs a submitted task to a stored deliverable on the single CRM slot", async () => {
    await t.current.db.delete(workerLeases);
    const api = testApp(t.current.db, {
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
      FOREMAN_DRY_RUN: "true",
    });
    anthropic.queue(
      toolTurn("hubspot_get_pipelines", { objectType: "tickets" }),
      toolTurn("hubspot_create_property", {
        objectType: "tickets",
        name: "renewal_date",
        label: "Renewal date",
        type: "date",
        fieldType: "date",
        groupName: "ticketinformation",
      }),
      toolTurn("submit", {
        markdown: "# Done\nrenewal_date created (dry-run).",
        result: { created: ["renewal_date"] },
      }),
    );
    const res = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "Add a renewal date property to tickets", rubric: ["renewal_date exists on tickets"] },
    });
    const { task } = (await res.json()) as { task: { id: string } };

    const runs = await routeEvents(untilSubmitted, api.deps, api.events);
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    expect(runs.map((r) => r.fn)).toEqual(expect.arrayContaining(["intake", "schedule", "work"]));

    const [row] = await t.current.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.status).toBe("working"); // the review function (next issue) takes it from here
    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.version).toBe(1);
    expect(row?.deliverableHash).toBe(stored?.hash);
    const submitted = api.events.sent.filter((e) => e.name === "task/work.submitted");
    expect(submitted.map((e) => (e.data as { deliverableId: string }).deliverableId)).toEqual([stored?.id]);
    expect(await t.current.db.select().from(workerLeases)).toHaveLength(0);

    const log = await t.current.db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id))
      .orderBy(taskEvents.id);
    const kinds = log.map((e) => e.kind);
    expect(kinds.slice(0, 4)).toEqual(["submitted", "triage", "state_changed", "state_changed"]); // → ready, → working
    expect(kinds.filter((k) => k === "worker_turn")).toHaveLength(3);
    expect(kinds.filter((k) => k === "tool_call")).toHaveLength(3);
    expect(kinds).toContain("would_do");
    expect(kinds.at(-1)).toBe("deliverable");
    // Reads reached the HubSpot fake; the write did not (dry-run).
    expect(hubspot.calls.some((c) => c.method === "GET" && c.path.includes("pipelines"))).toBe(true);
    expect(hubspot.calls.filter((c) => c.method === "POST" && c.path.includes("properties"))).toHaveLength(0);

    const steps = stepsPerTask(runs).get(task.id) ?? 0;
    // load + 3 turns + 3 tools + submit + release in work, plus intake's and the lease's.
    expect(steps).toBeGreaterThanOrEqual(12);
    expect(steps).toBeLessThan(40);
  });
});
