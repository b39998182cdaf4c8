// Dry-run, for real (DESIGN §7): with FOREMAN_DRY_RUN or the task's dry_run, every write tool yields a
// would_do event with the exact method, path and body — the very request the live writer sends, byte
// for byte — and not one write call reaches HubSpot. Reads still do.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeHubSpot, startFakeHubSpot } from "../../test/fakes/hubspot.ts";
import { call, FIXED_NOW, parsed, toolContext, useToolDb } from "../../test/tools.ts";
import { crmSetupTools } from "./crm-setup.ts";
import { executeToolCall } from "./execute.ts";

const db = useToolDb();
let fake: FakeHubSpot;
beforeAll(async () => {
  fake = await startFakeHubSpot();
  fake.addTicket({ id: "701", properties: { subject: "Activate Service Hub" } });
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const WRITES: {
  name: string;
  input: Record<string, unknown>;
  method: string;
  path: string;
  body: unknown;
}[] = [
  {
    name: "hubspot_create_property",
    input: {
      objectType: "tickets",
      name: "task_id",
      label: "Task id",
      type: "string",
      fieldType: "text",
      groupName: "ticketinformation",
      hasUniqueValue: true,
    },
    method: "POST",
    path: "/crm/v3/properties/tickets",
    body: {
      label: "Task id",
      type: "string",
      groupName: "ticketinformation",
      name: "task_id",
      hasUniqueValue: true,
      fieldType: "text",
    },
  },
  {
    name: "hubspot_update_record",
    input: {
      objectType: "tickets",
      id: "701",
      properties: { subject: "Activate Service Hub (dry)", hs_ticket_priority: "HIGH" },
    },
    method: "PATCH",
    path: "/crm/v3/objects/tickets/701",
    body: { properties: { subject: "Activate Service Hub (dry)", hs_ticket_priority: "HIGH" } },
  },
  {
    name: "hubspot_create_pipeline_stage",
    input: {
      objectType: "tickets",
      pipelineId: "0",
      label: "Awaiting review",
      displayOrder: 4,
      metadata: { ticketState: "OPEN" },
    },
    method: "POST",
    path: "/crm/v3/pipelines/tickets/0/stages",
    body: { metadata: { ticketState: "OPEN" }, displayOrder: 4, label: "Awaiting review" },
  },
  {
    name: "hubspot_add_note",
    input: { body: "Dry-run rehearsal.", objectType: "tickets", objectId: "701" },
    method: "POST",
    path: "/crm/v3/objects/notes",
    body: {
      associations: [
        { types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 228 }], to: { id: "701" } },
      ],
      properties: { hs_note_body: "Dry-run rehearsal.", hs_timestamp: FIXED_NOW.toISOString() },
    },
  },
];

describe.each([
  ["FOREMAN_DRY_RUN", { dryRun: true }],
  ["the task's dry_run", { taskDryRun: true }],
])("dry-run by %s", (_label, opts) => {
  it.each(WRITES)("$name records WOULD_DO $method $path and sends nothing", async (w) => {
    const ctx = toolContext(fake, opts);
    expect(ctx.dryRun).toBe(true);
    expect(ctx.crm.mode).toBe("recording");
    const r = await executeToolCall(ctx, crmSetupTools, call(w.name, w.input));
    expect(r.isError).toBe(false);
    expect(r.events.map((e) => e.kind)).toEqual(["tool_call", "would_do", "tool_result"]);
    expect(r.events[1]).toEqual({
      kind: "would_do",
      payload: { method: w.method, path: w.path, body: w.body },
    });
    expect(parsed(r).data).toMatchObject({ dryRun: true, recorded: `${w.method} ${w.path}` });
    expect(fake.writeCalls()).toEqual([]);
    expect(fake.calls).toEqual([]);
  });
});

it("in dry-run the reads still reach HubSpot, and a whole session makes zero write calls", async () => {
  const ctx = toolContext(fake, { dryRun: true });
  const reads = [
    call("hubspot_get_properties", { objectType: "tickets" }),
    call("hubspot_get_pipelines", { objectType: "tickets" }),
    call("hubspot_search_objects", { objectType: "tickets", properties: ["subject"] }),
  ];
  for (const c of reads) expect((await executeToolCall(ctx, crmSetupTools, c)).isError).toBe(false);
  for (const w of WRITES) await executeToolCall(ctx, crmSetupTools, call(w.name, w.input));
  expect(fake.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
    "GET /crm/v3/properties/tickets",
    "GET /crm/v3/pipelines/tickets",
    "POST /crm/v3/objects/tickets/search",
  ]);
  expect(fake.writeCalls()).toEqual([]);
  expect(fake.tickets.get("701")?.properties.subject).toBe("Activate Service Hub");
  expect(fake.properties.get("tickets")?.has("task_id")).toBe(false);
  expect(fake.notes.size).toBe(0);
});

it("a WOULD_DO is exactly what the live writer sends: same method, path and body text", async () => {
  for (const w of WRITES) {
    fake.reset();
    const recorded = await executeToolCall(
      toolContext(fake, { dryRun: true }),
      crmSetupTools,
      call(w.name, w.input),
    );
    const wouldDo = recorded.events.find((e) => e.kind === "would_do")?.payload as {
      method: string;
      path: string;
      body: unknown;
    };
    const live = await executeToolCall(toolContext(fake, { db: db() }), crmSetupTools, call(w.name, w.input));
    expect(live.isError).toBe(false);
    const [sent] = fake.writeCalls();
    expect(sent && `${sent.method} ${sent.path}`).toBe(`${wouldDo.method} ${wouldDo.path}`);
    expect(sent?.body).toBe(JSON.stringify(wouldDo.body));
  }
});

it("validation still runs in dry-run: invalid arguments record no WOULD_DO", async () => {
  const r = await executeToolCall(
    toolContext(fake, { dryRun: true }),
    crmSetupTools,
    call("hubspot_update_record", { objectType: "tickets", id: "701", properties: { Subject: "x" } }),
  );
  expect(r.isError).toBe(true);
  expect(r.events.map((e) => e.kind)).toEqual(["tool_call", "tool_result"]);
});

it("live (neither flag set) the writer is the real one", () => {
  const ctx = toolContext(fake);
  expect(ctx.dryRun).toBe(false);
  expect(ctx.crm.mode).toBe("live");
});
