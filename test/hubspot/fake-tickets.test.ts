// The HubSpot fake's ticket endpoints and rate limits, driven through the real @hubspot/api-client (so
// a wrong status code — a 200 on a create — would make the SDK throw here): create 201, PATCH by id and
// by the unique task_id, batch update 200 / 207 with per-row errors applied around, batch create, and
// the rolling 10-second window answering 429 with HubSpot's body and headers (no Retry-After), freeing
// up as the window rolls on a simulated clock; searches are outside the window.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHubSpotClient, type HubSpotClient } from "../../lib/hubspot/client.ts";
import { setupHubSpot } from "../../lib/hubspot/setup.ts";
import type { SetupMapping } from "../../lib/hubspot/setup-mapping.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";

let fake: FakeHubSpot;
let client: HubSpotClient;
let mapping: SetupMapping;
let now = 1_000_000;

beforeAll(async () => {
  fake = await startFakeHubSpot({ clock: () => now });
  client = createHubSpotClient({ accessToken: FAKE_HUBSPOT_TOKEN, baseUrl: fake.url });
  const setup = await setupHubSpot(client, { dryRun: false });
  if (!setup.mapping) throw new Error("setup:hubspot stored no mapping");
  mapping = setup.mapping;
});
afterAll(async () => {
  await fake?.close();
});
beforeEach(() => {
  now += 60_000;
  fake.setRateLimit({ max: 100, intervalMs: 10_000, dailyMax: 250_000 });
  fake.reset();
});

const props = (taskId: string, state: keyof SetupMapping["stageIds"] = "intake") => ({
  subject: `Task ${taskId}`,
  hs_pipeline: mapping.pipelineId,
  hs_pipeline_stage: mapping.stageIds[state],
  task_id: taskId,
});
type ApiError = { code: number; body: Record<string, unknown>; headers: Record<string, string> };
const failure = async (p: Promise<unknown>): Promise<ApiError> => {
  try {
    await p;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error("expected the call to fail");
};

describe("HubSpot fake: tickets", () => {
  it("creates a ticket (201) and refuses a second one with the same task_id (409)", async () => {
    const t = await client.crm.tickets.basicApi.create({ properties: props("task_a1") });
    expect(fake.tickets.get(t.id)?.properties).toMatchObject({ task_id: "task_a1" });
    expect(fake.callsTo("POST", "/crm/v3/objects/tickets")).toHaveLength(1);
    const dup = await failure(client.crm.tickets.basicApi.create({ properties: props("task_a1") }));
    expect(dup.code).toBe(409);
    expect(dup.body).toMatchObject({ category: "CONFLICT", message: expect.stringContaining(t.id) });
  });

  it("refuses a create without a subject, or with a stage of another pipeline (400)", async () => {
    const noSubject = await failure(
      client.crm.tickets.basicApi.create({ properties: { ...props("task_a2"), subject: "" } }),
    );
    expect(noSubject.code).toBe(400);
    const wrongStage = await failure(
      client.crm.tickets.basicApi.create({ properties: { ...props("task_a3"), hs_pipeline_stage: "1" } }),
    );
    expect(wrongStage.code).toBe(400);
    expect(JSON.stringify(wrongStage.body)).toContain("is not a valid stage of pipeline");
  });

  it("PATCHes by HubSpot id and by ?idProperty=task_id, keeping the stage history", async () => {
    const t = await client.crm.tickets.basicApi.create({ properties: props("task_b1") });
    await client.crm.tickets.basicApi.update(t.id, {
      properties: { hs_pipeline_stage: mapping.stageIds.ready },
    });
    const byTaskId = await client.crm.tickets.basicApi.update(
      "task_b1",
      { properties: { hs_pipeline_stage: mapping.stageIds.working, last_event_id: "42" } },
      "task_id",
    );
    expect(byTaskId.id).toBe(t.id);
    expect(fake.callsTo("PATCH", "/crm/v3/objects/tickets/task_b1")[0]?.query).toEqual({
      idProperty: "task_id",
    });
    expect(fake.stageHistory.get(t.id)).toEqual([
      mapping.stageIds.intake,
      mapping.stageIds.ready,
      mapping.stageIds.working,
    ]);
    const read = await client.crm.tickets.basicApi.getById(
      "task_b1",
      ["last_event_id"],
      undefined,
      undefined,
      false,
      "task_id",
    );
    expect(read.properties.last_event_id).toBe("42");
    const missing = await failure(
      client.crm.tickets.basicApi.update("task_nope", { properties: { last_event_id: "1" } }, "task_id"),
    );
    expect(missing.code).toBe(404);
  });

  it("batch update: 200 when every row applies, 207 with per-row errors while the rest applies", async () => {
    const [a, b] = await Promise.all(
      ["task_c1", "task_c2"].map((id) => client.crm.tickets.basicApi.create({ properties: props(id) })),
    );
    const ok = await client.crm.tickets.batchApi.update({
      inputs: [a, b].map((t) => ({
        id: t?.id as string,
        properties: { hs_pipeline_stage: mapping.stageIds.ready },
      })),
    });
    expect("errors" in ok && ok.errors).toBeFalsy();
    expect(ok.results).toHaveLength(2);

    const partial = await client.crm.tickets.batchApi.update({
      inputs: [
        { id: a?.id as string, properties: { hs_pipeline_stage: mapping.stageIds.working } },
        { id: "99999999999", properties: { hs_pipeline_stage: mapping.stageIds.working } },
        { id: b?.id as string, properties: { hs_pipeline_stage: "not-a-stage" } },
      ],
    });
    const errors = "errors" in partial ? (partial.errors ?? []) : [];
    expect("numErrors" in partial && partial.numErrors).toBe(2);
    expect(errors.map((e) => [e.category, e.context])).toEqual([
      ["OBJECT_NOT_FOUND", { ids: ["99999999999"] }],
      ["VALIDATION_ERROR", { ids: [b?.id] }],
    ]);
    expect(partial.results.map((r) => r.id)).toEqual([a?.id]);
    expect(fake.tickets.get(a?.id as string)?.properties.hs_pipeline_stage).toBe(mapping.stageIds.working);
    expect(fake.tickets.get(b?.id as string)?.properties.hs_pipeline_stage).toBe(mapping.stageIds.ready);
    // The raw status HubSpot uses for a partial batch.
    expect(
      (
        await client.crm.tickets.batchApi.updateWithHttpInfo({
          inputs: [{ id: "99999999998", properties: { last_event_id: "1" } }],
        })
      ).httpStatusCode,
    ).toBe(207);
  });

  it("refuses a batch naming a ticket twice, or holding more than 100 inputs (400)", async () => {
    const t = await client.crm.tickets.basicApi.create({ properties: props("task_d1") });
    const twice = await failure(
      client.crm.tickets.batchApi.update({
        inputs: [t, t].map((x) => ({ id: x.id, properties: { last_event_id: "1" } })),
      }),
    );
    expect(twice.code).toBe(400);
    const many = await failure(
      client.crm.tickets.batchApi.update({
        inputs: Array.from({ length: 101 }, (_, i) => ({ id: String(i + 1), properties: {} })),
      }),
    );
    expect(many.code).toBe(400);
  });

  it("batch create: 201 for all, 207 naming the failed input by its objectWriteTraceId", async () => {
    const all = await client.crm.tickets.batchApi.create({
      inputs: ["task_e1", "task_e2"].map((id) => ({ properties: props(id), associations: [] })),
    });
    expect(all.results.map((r) => r.properties.task_id).sort()).toEqual(["task_e1", "task_e2"]);
    const partial = await client.crm.tickets.batchApi.create({
      inputs: [
        { properties: props("task_e3"), associations: [], objectWriteTraceId: "task_e3" },
        { properties: props("task_e1"), associations: [], objectWriteTraceId: "task_e1" },
      ],
    });
    expect(partial.results.map((r) => r.properties.task_id)).toEqual(["task_e3"]);
    const errors = "errors" in partial ? (partial.errors ?? []) : [];
    expect(errors.map((e) => [e.category, e.context])).toEqual([
      ["CONFLICT", { objectWriteTraceId: ["task_e1"] }],
    ]);
  });
});

describe("HubSpot fake: rate limits", () => {
  it("answers the 101st request in 10 s with 429, HubSpot's body and headers, and no Retry-After", async () => {
    fake.setRateLimit({ max: 5, intervalMs: 10_000, dailyMax: 250_000 });
    const t = await client.crm.tickets.basicApi.create({ properties: props("task_f1") });
    now += 2_000; // the other four land 2 s after the first
    const ok = await client.crm.tickets.basicApi.getByIdWithHttpInfo(t.id);
    expect(ok.headers).toMatchObject({
      "x-hubspot-ratelimit-interval-milliseconds": "10000",
      "x-hubspot-ratelimit-max": "5",
      "x-hubspot-ratelimit-remaining": "3",
    });
    for (let i = 0; i < 3; i++) await client.crm.tickets.basicApi.getById(t.id);
    const limited = await failure(client.crm.tickets.basicApi.getById(t.id));
    expect(limited.code).toBe(429);
    expect(limited.body).toEqual({
      status: "error",
      message: "You have reached your ten_secondly_rolling limit.",
      errorType: "RATE_LIMIT",
      correlationId: expect.any(String),
      policyName: "TEN_SECONDLY_ROLLING",
    });
    expect(limited.headers).toMatchObject({
      "x-hubspot-ratelimit-interval-milliseconds": "10000",
      "x-hubspot-ratelimit-max": "5",
      "x-hubspot-ratelimit-remaining": "0",
    });
    expect(limited.headers["retry-after"]).toBeUndefined();
    expect(fake.rateLimited()).toBe(1);

    // Searches are limited separately by HubSpot: they neither count nor carry the headers.
    const search = await client.crm.tickets.searchApi.doSearchWithHttpInfo({ filterGroups: [], limit: 1 });
    expect(search.httpStatusCode).toBe(200);
    expect(search.headers["x-hubspot-ratelimit-max"]).toBeUndefined();

    // The window rolls: 10 s after the first request, its slot (only) is free again.
    now += 8_000;
    await expect(client.crm.tickets.basicApi.getById(t.id)).resolves.toMatchObject({ id: t.id });
    await expect(failure(client.crm.tickets.basicApi.getById(t.id))).resolves.toMatchObject({ code: 429 });
  });

  it("answers past the daily cap with the DAILY policy", async () => {
    fake.setRateLimit({ max: 100, intervalMs: 10_000, dailyMax: 2 });
    await client.crm.pipelines.pipelinesApi.getAll("tickets");
    await client.crm.pipelines.pipelinesApi.getAll("tickets");
    const limited = await failure(client.crm.pipelines.pipelinesApi.getAll("tickets"));
    expect(limited.code).toBe(429);
    expect(limited.body).toMatchObject({ policyName: "DAILY", errorType: "RATE_LIMIT" });
    expect(limited.headers).toMatchObject({ "x-hubspot-ratelimit-daily-remaining": "0" });
  });
});
