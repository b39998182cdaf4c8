// Every HubSpot tool, live, through the real @hubspot/api-client against the fake: the happy path, the
// request HubSpot receives, what the model reads back; invalid arguments → a validation error result
// naming the fields and no HTTP call; HubSpot's refusals → error results; outages and bad credentials
// → thrown, for Inngest to retry or for triage.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { crmLinks } from "../../db/schema/index.ts";
import { type FakeHubSpot, startFakeHubSpot } from "../../test/fakes/hubspot.ts";
import { insertTask } from "../../test/fixtures.ts";
import { call, FIXED_NOW, parsed, toolContext, useToolDb } from "../../test/tools.ts";
import { crmSetupTools } from "./crm-setup.ts";
import { executeToolCall } from "./execute.ts";

let fake: FakeHubSpot;
beforeAll(async () => {
  fake = await startFakeHubSpot();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const db = useToolDb();
const run = (name: string, input: unknown) =>
  executeToolCall(toolContext(fake, { db: db() }), crmSetupTools, call(name, input));
const bodyOf = (method: string, path: string) => {
  const [c] = fake.callsTo(method, path);
  return c ? JSON.parse(c.body) : undefined;
};

describe("read tools", () => {
  it("hubspot_search_objects sends one AND filter group and returns ids, properties and the cursor", async () => {
    for (let i = 1; i <= 3; i++) {
      fake.addTicket({
        id: String(100 + i),
        properties: { subject: `Setup ${i}`, hs_ticket_priority: i === 2 ? "LOW" : "HIGH" },
      });
    }
    const r = await run("hubspot_search_objects", {
      objectType: "tickets",
      filters: [{ propertyName: "hs_ticket_priority", operator: "EQ", value: "HIGH" }],
      properties: ["subject"],
      limit: 1,
    });
    expect(r.isError).toBe(false);
    expect(bodyOf("POST", "/crm/v3/objects/tickets/search")).toEqual({
      filterGroups: [{ filters: [{ propertyName: "hs_ticket_priority", operator: "EQ", value: "HIGH" }] }],
      properties: ["subject"],
      limit: 1,
    });
    expect(parsed(r)).toEqual({
      ok: true,
      data: {
        total: 2,
        results: [{ id: "101", properties: expect.objectContaining({ subject: "Setup 1" }) }],
        after: "1",
      },
    });
    const next = await run("hubspot_search_objects", {
      objectType: "tickets",
      properties: ["subject"],
      after: "1",
    });
    expect(parsed(next).data.results.map((x: { id: string }) => x.id)).toEqual(["102", "103"]);
  });

  it("hubspot_get_properties lists compact definitions, optionally one group", async () => {
    const r = await run("hubspot_get_properties", { objectType: "tickets" });
    expect(fake.callsTo("GET", "/crm/v3/properties/tickets")).toHaveLength(1);
    const props = parsed(r).data.results as { name: string; options?: unknown[] }[];
    expect(props.find((p) => p.name === "hs_ticket_priority")).toEqual({
      name: "hs_ticket_priority",
      label: "Priority",
      type: "enumeration",
      fieldType: "select",
      groupName: "ticketinformation",
      options: expect.arrayContaining([{ label: "high", value: "HIGH" }]),
      hubspotDefined: true,
    });
    expect(props.find((p) => p.name === "createdate")).toMatchObject({ readOnlyValue: true });
    const none = await run("hubspot_get_properties", {
      objectType: "tickets",
      groupName: "task_orchestration",
    });
    expect(parsed(none).data.results).toEqual([]);
  });

  it("hubspot_get_pipelines lists pipelines with stage ids and metadata", async () => {
    const r = await run("hubspot_get_pipelines", { objectType: "tickets" });
    expect(fake.callsTo("GET", "/crm/v3/pipelines/tickets")).toHaveLength(1);
    const [support] = parsed(r).data.results;
    expect(support).toMatchObject({ id: "0", label: "Support Pipeline" });
    expect(support.stages[3]).toEqual({
      id: "4",
      label: "Closed",
      displayOrder: 3,
      metadata: { ticketState: "CLOSED", isClosed: "true" },
    });
  });
});

describe("write tools (live)", () => {
  it("hubspot_create_property creates it (201) and a second create is a 409 error result", async () => {
    const input = {
      objectType: "tickets",
      name: "task_state",
      label: "Task state",
      type: "enumeration",
      fieldType: "select",
      groupName: "ticketinformation",
      options: [
        { label: "Ready", value: "ready" },
        { label: "Done", value: "done", displayOrder: 5 },
      ],
    };
    const r = await run("hubspot_create_property", input);
    expect(parsed(r)).toEqual({
      ok: true,
      data: {
        created: {
          name: "task_state",
          label: "Task state",
          type: "enumeration",
          fieldType: "select",
          groupName: "ticketinformation",
        },
      },
    });
    expect(bodyOf("POST", "/crm/v3/properties/tickets")).toEqual({
      label: "Task state",
      type: "enumeration",
      groupName: "ticketinformation",
      name: "task_state",
      options: [
        { hidden: false, label: "Ready", value: "ready" },
        { hidden: false, displayOrder: 5, label: "Done", value: "done" },
      ],
      fieldType: "select",
    });
    expect(r.events.map((e) => e.kind)).toEqual(["tool_call", "tool_result"]);

    const again = await run("hubspot_create_property", input);
    expect(again.isError).toBe(true);
    expect(parsed(again).error).toMatchObject({ code: "CONFLICT" });
    expect(parsed(again).error.message).toContain("409");
    expect(parsed(again).error.message).toContain("Property named 'task_state' already exists.");
  });

  it("hubspot_update_record patches the record (200) and HubSpot's 400 and 404 come back as errors", async () => {
    fake.addTicket({ id: "501", properties: { subject: "Old", hs_ticket_priority: "LOW" } });
    const r = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "501",
      properties: { subject: "New", hs_ticket_priority: "HIGH" },
    });
    expect(parsed(r).data).toEqual({
      updated: { id: "501", properties: { subject: "New", hs_ticket_priority: "HIGH" } },
    });
    expect(bodyOf("PATCH", "/crm/v3/objects/tickets/501")).toEqual({
      properties: { subject: "New", hs_ticket_priority: "HIGH" },
    });
    expect(fake.tickets.get("501")?.properties.subject).toBe("New");

    const badOption = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "501",
      properties: { hs_ticket_priority: "SOMEDAY", nope: "x" },
    });
    expect(badOption.isError).toBe(true);
    expect(parsed(badOption).error.message).toContain("Property values were not valid");
    expect(parsed(badOption).error.message).toContain("PROPERTY_DOESNT_EXIST");
    expect(fake.tickets.get("501")?.properties.hs_ticket_priority).toBe("HIGH");

    const missing = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "999",
      properties: { subject: "x" },
    });
    expect(parsed(missing).error).toMatchObject({ code: "NOT_FOUND" });
  });

  it("hubspot_update_record refuses what the CRM sync owns: task_id and last_event_id anywhere, the stage of a mirrored ticket", async () => {
    const task = await insertTask(db());
    fake.addTicket({
      id: "7001",
      properties: { subject: "Mirrored", hs_pipeline_stage: "10", task_id: task.id },
    });
    await db().insert(crmLinks).values({ taskId: task.id, ticketId: "7001", pushedStageId: "10" });
    fake.addTicket({ id: "7002", properties: { subject: "The client's own", hs_pipeline_stage: "1" } });

    // An agent moving its own task's ticket to Cancelled would have cancelled its task.
    const moved = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "7001",
      properties: { hs_pipeline_stage: "99", subject: "x" },
    });
    expect(moved.isError).toBe(true);
    expect(parsed(moved).error).toMatchObject({
      code: "VALIDATION",
      fields: [{ path: "properties.hs_pipeline_stage" }],
    });
    expect(parsed(moved).error.message).toContain(task.id);
    const retagged = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "7002",
      properties: { task_id: "task_someone_else" },
    });
    expect(parsed(retagged).error).toMatchObject({
      code: "VALIDATION",
      fields: [{ path: "properties.task_id" }],
    });
    // Not by the ticket type's numeric id either, nor the link people follow to the task.
    const byTypeId = await run("hubspot_update_record", {
      objectType: "0-5",
      id: "7001",
      properties: { hs_pipeline_stage: "99" },
    });
    expect(parsed(byTypeId).error).toMatchObject({ code: "VALIDATION" });
    const forgedLink = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "7002",
      properties: { task_url: "https://evil.example/stamp" },
    });
    expect(parsed(forgedLink).error).toMatchObject({ fields: [{ path: "properties.task_url" }] });
    expect(fake.callsTo("PATCH", "/crm/v3/objects/0-5/7001")).toHaveLength(0);
    expect(fake.callsTo("PATCH", "/crm/v3/objects/tickets/7001")).toHaveLength(0);
    expect(fake.callsTo("PATCH", "/crm/v3/objects/tickets/7002")).toHaveLength(0);
    expect(fake.tickets.get("7001")?.properties.hs_pipeline_stage).toBe("10");

    // Other tickets' stages are the client's business, and a mirrored ticket's other fields stay writable.
    const theirs = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "7002",
      properties: { hs_pipeline_stage: "2" },
    });
    expect(theirs.isError).toBe(false);
    const subject = await run("hubspot_update_record", {
      objectType: "tickets",
      id: "7001",
      properties: { subject: "Renamed" },
    });
    expect(subject.isError).toBe(false);
    expect(fake.tickets.get("7001")?.properties.subject).toBe("Renamed");
  });

  it("hubspot_create_pipeline_stage adds the stage (201); the fake's 400 and 404 come back as errors", async () => {
    const r = await run("hubspot_create_pipeline_stage", {
      objectType: "tickets",
      pipelineId: "0",
      label: "Waiting on vendor",
      displayOrder: 3,
      metadata: { ticketState: "OPEN" },
    });
    expect(parsed(r).data.created).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      label: "Waiting on vendor",
      displayOrder: 3,
      metadata: { ticketState: "OPEN", isClosed: "false" },
    });
    expect(bodyOf("POST", "/crm/v3/pipelines/tickets/0/stages")).toEqual({
      metadata: { ticketState: "OPEN" },
      displayOrder: 3,
      label: "Waiting on vendor",
    });
    const noState = await run("hubspot_create_pipeline_stage", {
      objectType: "tickets",
      pipelineId: "0",
      label: "Limbo",
      displayOrder: 9,
    });
    expect(parsed(noState).error.message).toContain("ticketState");
    const noPipeline = await run("hubspot_create_pipeline_stage", {
      objectType: "tickets",
      pipelineId: "777",
      label: "X",
      displayOrder: 1,
      metadata: { ticketState: "OPEN" },
    });
    expect(parsed(noPipeline).error).toMatchObject({ code: "NOT_FOUND" });
  });

  it("hubspot_add_note creates the note (201) associated with the record", async () => {
    fake.addTicket({ id: "601", properties: { subject: "Onboarding" } });
    const r = await run("hubspot_add_note", {
      body: "Pipeline checked.",
      objectType: "tickets",
      objectId: "601",
    });
    const id = parsed(r).data.created.id as string;
    expect(parsed(r).data.on).toEqual({ objectType: "tickets", id: "601" });
    expect(bodyOf("POST", "/crm/v3/objects/notes")).toEqual({
      associations: [
        { types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 228 }], to: { id: "601" } },
      ],
      properties: { hs_note_body: "Pipeline checked.", hs_timestamp: FIXED_NOW.toISOString() },
    });
    expect(fake.notes.get(id)?.associations).toEqual([
      { toObjectType: "tickets", toId: "601", associationTypeId: 228 },
    ]);
    const orphan = await run("hubspot_add_note", { body: "x", objectType: "deals", objectId: "12345" });
    expect(parsed(orphan).error).toMatchObject({ code: "VALIDATION" });
  });
});

describe("invalid arguments: a validation error naming the fields, and no HTTP call", () => {
  const cases: [string, unknown, string[]][] = [
    ["hubspot_search_objects", { objectType: "Tickets!", limit: 500 }, ["objectType", "limit"]],
    [
      "hubspot_search_objects",
      { objectType: "tickets", filters: [{ propertyName: "subject", operator: "BETWEEN", value: "a" }] },
      ["filters.0.highValue"],
    ],
    ["hubspot_get_properties", { objectType: "tickets", extra: true }, ["(arguments)"]],
    ["hubspot_get_pipelines", {}, ["objectType"]],
    [
      "hubspot_create_property",
      { objectType: "tickets", name: "Task ID", label: "", type: "text", fieldType: "text" },
      ["name", "label", "type", "groupName"],
    ],
    ["hubspot_update_record", { objectType: "tickets", id: "abc", properties: {} }, ["id", "properties"]],
    [
      "hubspot_create_pipeline_stage",
      { objectType: "tickets", pipelineId: "0", label: "X", displayOrder: 1.5 },
      ["displayOrder"],
    ],
    ["hubspot_add_note", { body: "hi", objectType: "leads", objectId: "1" }, ["objectType"]],
  ];
  it.each(cases)("%s %j", async (name, input, fields) => {
    const r = await run(name, input);
    expect(r.isError).toBe(true);
    const error = parsed(r).error;
    expect(error.code).toBe("VALIDATION");
    expect(error.fields.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(fields));
    for (const f of fields) expect(error.message).toContain(f);
    expect(fake.calls).toHaveLength(0);
    expect(r.events.map((e) => e.kind)).toEqual(["tool_call", "tool_result"]);
  });
});

describe("HubSpot outages and credentials are not the model's to handle", () => {
  it("a 429 or a 5xx is thrown as a retryable DomainError (Inngest retries the step)", async () => {
    fake.fail({
      status: 429,
      body: {
        status: "error",
        message: "You have reached your daily limit.",
        category: "RATE_LIMITS",
        policyName: "DAILY",
      },
    });
    await expect(run("hubspot_get_pipelines", { objectType: "tickets" })).rejects.toMatchObject({
      code: "RATE_LIMITED",
      retryable: true,
    });
    fake.reset();
    fake.fail({ status: 502, body: { status: "error", message: "Bad gateway" } });
    await expect(run("hubspot_get_properties", { objectType: "tickets" })).rejects.toMatchObject({
      code: "UPSTREAM",
      retryable: true,
    });
  });

  it("a 401 is thrown as UNAUTHORIZED, non-retryable (the task goes to triage)", async () => {
    const ctx = toolContext(fake, { token: "pat-na1-wrong" });
    await expect(
      executeToolCall(ctx, crmSetupTools, call("hubspot_get_pipelines", { objectType: "tickets" })),
    ).rejects.toMatchObject({ code: "UNAUTHORIZED", retryable: false });
  });
});
