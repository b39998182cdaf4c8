// setup:hubspot against the stateful HubSpot fake: the first run creates the pipeline (nine stages in
// lifecycle order, done and cancelled closed), the group and the five properties; a second run only
// reads; a half-set-up portal gets only what is missing; a dry run plans and writes nothing; the
// mapping lands in settings (PGlite, or PostgreSQL under TEST_DATABASE_URL).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHubSpotClient, type HubSpotClient } from "../../lib/hubspot/client.ts";
import {
  applySetup,
  describeAction,
  PIPELINE_LABEL,
  PROPERTIES,
  planSetup,
  readPortal,
  STAGE_LABELS,
  setupHubSpot,
} from "../../lib/hubspot/setup.ts";
import { loadSetupMapping, SETUP_SETTINGS_KEY, storeSetupMapping } from "../../lib/hubspot/setup-mapping.ts";
import { TASK_STATES } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { stage } from "../fakes/hubspot-seed.ts";

const testDb = useTestDb();
let fake: FakeHubSpot;
let client: HubSpotClient;

beforeAll(async () => {
  fake = await startFakeHubSpot();
  client = createHubSpotClient({ accessToken: FAKE_HUBSPOT_TOKEN, baseUrl: fake.url });
});
afterAll(async () => {
  await fake?.close();
});

/** Back to a fresh portal: only the seeded support pipeline, groups and properties. */
function resetPortal(): void {
  const tickets = fake.pipelines.get("tickets") ?? [];
  tickets.splice(1);
  fake.groups.get("tickets")?.delete("foreman");
  for (const p of PROPERTIES) fake.properties.get("tickets")?.delete(p.name);
  fake.reset();
}

const ours = () => fake.pipelines.get("tickets")?.find((p) => p.label === PIPELINE_LABEL);
const writes = () => fake.writeCalls().map((c) => `${c.method} ${c.path}`);

describe("setup:hubspot", () => {
  beforeEach(resetPortal);

  it("first run creates the pipeline with nine ordered stages, the group and the properties", async () => {
    const { plan, mapping } = await setupHubSpot(client, { dryRun: false });
    expect(plan.problems).toEqual([]);
    expect(plan.actions.map((a) => a.kind)).toEqual([
      "create_pipeline",
      "create_group",
      ...PROPERTIES.map(() => "create_property"),
    ]);

    // One pipeline create carrying every stage, the group before its properties.
    expect(writes()).toEqual([
      "POST /crm/v3/properties/tickets/groups",
      "POST /crm/v3/pipelines/tickets",
      ...PROPERTIES.map(() => "POST /crm/v3/properties/tickets"),
    ]);

    const pipeline = ours();
    expect(pipeline).toBeDefined();
    if (!pipeline) return;
    const stages = [...pipeline.stages].sort((a, b) => a.displayOrder - b.displayOrder);
    expect(stages.map((s) => s.label)).toEqual(TASK_STATES.map((s) => STAGE_LABELS[s]));
    expect(stages.map((s) => s.displayOrder)).toEqual(TASK_STATES.map((_, i) => i));
    const closed = Object.fromEntries(TASK_STATES.map((s, i) => [s, stages[i]?.metadata.isClosed]));
    expect(closed).toEqual({
      intake: "false",
      ready: "false",
      working: "false",
      awaiting_internal_review: "false",
      awaiting_client_review: "false",
      done: "true",
      blocked_external: "false",
      failed_needs_triage: "false",
      cancelled: "true",
    });
    expect(stages.filter((s) => s.metadata.ticketState === "CLOSED").map((s) => s.label)).toEqual([
      "Done",
      "Cancelled",
    ]);

    expect(fake.groups.get("tickets")?.get("foreman")).toMatchObject({ name: "foreman", label: "Foreman" });
    const defs = fake.properties.get("tickets");
    expect(defs?.get("task_id")).toMatchObject({
      type: "string",
      groupName: "foreman",
      hasUniqueValue: true,
    });
    expect(defs?.get("revision_count")).toMatchObject({ type: "number", fieldType: "number" });
    for (const name of ["task_url", "last_event_id", "worker"]) {
      expect(defs?.get(name)).toMatchObject({ type: "string", hasUniqueValue: false, groupName: "foreman" });
    }

    expect(mapping).toEqual({
      pipelineId: pipeline.id,
      stageIds: Object.fromEntries(TASK_STATES.map((s, i) => [s, stages[i]?.id])),
      propertyGroup: "foreman",
      properties: ["task_id", "task_url", "last_event_id", "revision_count", "worker"],
    });
  });

  it("a second run makes no writes and returns the same mapping", async () => {
    const first = await setupHubSpot(client, { dryRun: false });
    const pipelinesBefore = JSON.stringify(fake.pipelines.get("tickets"));
    fake.reset();
    const second = await setupHubSpot(client, { dryRun: false, previous: first.mapping });
    expect(second.plan.actions).toEqual([]);
    expect(writes()).toEqual([]);
    expect(fake.calls.every((c) => c.method === "GET")).toBe(true);
    expect(second.mapping).toEqual(first.mapping);
    expect(JSON.stringify(fake.pipelines.get("tickets"))).toBe(pipelinesBefore);
    expect(fake.pipelines.get("tickets")?.filter((p) => p.label === PIPELINE_LABEL)).toHaveLength(1);
    // Also without the stored mapping (matched by label alone).
    fake.reset();
    const third = await setupHubSpot(client, { dryRun: false });
    expect(writes()).toEqual([]);
    expect(third.mapping).toEqual(first.mapping);
  });

  it("a pipeline that exists with five stages gets only the four missing ones", async () => {
    const at = new Date().toISOString();
    const five = TASK_STATES.slice(0, 5);
    fake.pipelines.get("tickets")?.push({
      id: "777",
      label: PIPELINE_LABEL,
      displayOrder: 1,
      stages: five.map((s, i) =>
        stage(`77${i}`, STAGE_LABELS[s], i, { ticketState: "OPEN", isClosed: "false" }, at),
      ),
      createdAt: at,
      updatedAt: at,
      archived: false,
    });
    // task_id already exists (unique); the group and the other properties do not.
    await client.crm.properties.groupsApi.create("tickets", { name: "foreman", label: "Foreman" });
    await client.crm.properties.coreApi.create("tickets", {
      name: "task_id",
      label: "Task ID",
      type: "string" as never,
      fieldType: "text" as never,
      groupName: "foreman",
      hasUniqueValue: true,
    });
    fake.reset();

    const { plan, mapping } = await setupHubSpot(client, { dryRun: false });
    expect(plan.actions.map(describeAction)).toEqual([
      'create stage "Done" (closed, order 5) in pipeline 777',
      'create stage "Blocked (external)" (open, order 6) in pipeline 777',
      'create stage "Failed, needs triage" (open, order 7) in pipeline 777',
      'create stage "Cancelled" (closed, order 8) in pipeline 777',
      ...["task_url", "last_event_id", "revision_count", "worker"].map((n) =>
        expect.stringContaining(`create ticket property ${n} `),
      ),
    ]);
    expect(writes()).toEqual([
      ...Array(4).fill("POST /crm/v3/pipelines/tickets/777/stages"),
      ...Array(4).fill("POST /crm/v3/properties/tickets"),
    ]);
    const pipeline = ours();
    expect(pipeline?.id).toBe("777");
    expect(pipeline?.stages.map((s) => s.label)).toEqual(TASK_STATES.map((s) => STAGE_LABELS[s]));
    expect(pipeline?.stages.map((s) => s.metadata.isClosed)).toEqual(
      TASK_STATES.map((s) => String(s === "done" || s === "cancelled")),
    );
    expect(mapping?.pipelineId).toBe("777");
    expect(mapping?.stageIds.intake).toBe("770");
    expect(mapping?.stageIds.awaiting_client_review).toBe("774");
    expect(mapping?.stageIds.cancelled).toBe(pipeline?.stages[8]?.id);

    fake.reset();
    await setupHubSpot(client, { dryRun: false, previous: mapping });
    expect(writes()).toEqual([]);
  });

  it("finds stages renamed by an admin through the stored ids", async () => {
    const { mapping } = await setupHubSpot(client, { dryRun: false });
    const pipeline = ours();
    const intake = pipeline?.stages.find((s) => s.id === mapping?.stageIds.intake);
    if (intake) intake.label = "New request";
    if (pipeline) pipeline.label = "Agent work";
    fake.reset();
    const again = await setupHubSpot(client, { dryRun: false, previous: mapping });
    expect(writes()).toEqual([]);
    expect(again.mapping).toEqual(mapping);
  });

  it("--dry-run lists every action and the fake sees zero writes", async () => {
    const { plan, mapping } = await setupHubSpot(client, { dryRun: true });
    expect(mapping).toBeUndefined();
    expect(fake.writeCalls()).toEqual([]);
    expect(fake.calls.map((c) => `${c.method} ${c.path}`).sort()).toEqual([
      "GET /crm/v3/pipelines/tickets",
      "GET /crm/v3/properties/tickets",
      "GET /crm/v3/properties/tickets/groups",
    ]);
    const lines = plan.actions.map(describeAction);
    expect(lines[0]).toContain(`create ticket pipeline "${PIPELINE_LABEL}" with 9 stages`);
    for (const s of TASK_STATES) expect(lines[0]).toContain(STAGE_LABELS[s]);
    expect(lines[0]).toContain("6. Done (closed)");
    expect(lines[0]).toContain("9. Cancelled (closed)");
    expect(lines[0]).toContain("8. Failed, needs triage (open)");
    expect(lines.slice(1)).toEqual([
      'create ticket property group "foreman" (Foreman)',
      "create ticket property task_id (string, unique) in group foreman",
      "create ticket property task_url (string) in group foreman",
      "create ticket property last_event_id (string) in group foreman",
      "create ticket property revision_count (number) in group foreman",
      "create ticket property worker (string) in group foreman",
    ]);
    expect(ours()).toBeUndefined();
  });

  it("refuses to use a task_id that is not unique-valued, or a Done stage that is open", async () => {
    await setupHubSpot(client, { dryRun: false });
    const def = fake.properties.get("tickets")?.get("task_id");
    if (def) def.hasUniqueValue = false;
    const done = ours()?.stages.find((s) => s.label === "Done");
    if (done) done.metadata = { ticketState: "OPEN", isClosed: "false" };
    fake.reset();
    const plan = planSetup(await readPortal(client));
    expect(plan.problems).toEqual([
      expect.stringContaining('Stage "Done"'),
      expect.stringContaining("task_id exists without unique values"),
    ]);
    await expect(applySetup(client, plan)).rejects.toThrow(/cannot continue/);
    expect(writes()).toEqual([]);
  });

  it("treats a 409 from a concurrent creator as created", async () => {
    const plan = planSetup(await readPortal(client));
    // Someone else creates everything between our read and our writes.
    await setupHubSpot(client, { dryRun: false });
    const winner = ours();
    fake.reset();
    const mapping = await applySetup(client, plan);
    expect(fake.writeCalls().every((c) => c.method === "POST")).toBe(true);
    expect(mapping.pipelineId).toBe(winner?.id);
    expect(fake.pipelines.get("tickets")?.filter((p) => p.label === PIPELINE_LABEL)).toHaveLength(1);
  });

  it("stores the mapping in settings under hubspot.setup, replacing the previous one", async () => {
    const { mapping } = await setupHubSpot(client, { dryRun: false });
    if (!mapping) throw new Error("no mapping");
    const db = testDb.current.db;
    await storeSetupMapping(db, mapping);
    expect(await loadSetupMapping(db)).toEqual(mapping);
    const changed = { ...mapping, pipelineId: "123" };
    await storeSetupMapping(db, changed);
    expect(await loadSetupMapping(db)).toEqual(changed);
    expect(SETUP_SETTINGS_KEY).toBe("hubspot.setup");
  });

  it("a wrong token is an UNAUTHORIZED error, not a crash", async () => {
    const bad = createHubSpotClient({ accessToken: "pat-wrong", baseUrl: fake.url });
    await expect(setupHubSpot(bad, { dryRun: true })).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    // The SDK's decorators are process-wide: rebuild the good client's APIs.
    client = createHubSpotClient({ accessToken: FAKE_HUBSPOT_TOKEN, baseUrl: fake.url });
  });
});
