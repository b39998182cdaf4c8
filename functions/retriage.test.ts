// A retry of a task intake never triaged (its ticket could not be read): the API answers 202 and the
// task stays failed while retriage enriches it from the ticket and triages it — then it goes to ready
// with the ticket's subject and the router's verdict, its reason carrying the person's retry. The same
// Idempotency-Key again is the same request, even after the task moved on. A ticket still missing
// leaves the task failed with the new reason and a note. A triaged task's retry is the plain move.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskEvents, tasks } from "../db/schema/index.ts";
import { requestRetriage } from "../lib/tasks/retriage.ts";
import { onPostgres, useTestDb } from "../test/db.ts";
import { testApp, testDeps } from "../test/deps.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import { hubspotTask, insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { intake } from "./intake.ts";
import { retriage } from "./retriage.ts";

const t = useTestDb();
let hubspot: FakeHubSpot;
let model: OpenAIUpstream;
beforeAll(async () => {
  [hubspot, model] = await Promise.all([startFakeHubSpot(), startOpenAIUpstream()]);
  Object.defineProperty(model.behaviour, "json", {
    configurable: true,
    get: () => ({
      worker: "crm-setup",
      priority: "P2",
      rubric: ["Every lifecycle stage is mapped"],
      internal_stamp_required: false,
      reason: "CRM lifecycle mapping",
    }),
  });
});
afterAll(async () => {
  await Promise.all([hubspot?.close(), model?.close()]);
});

const env = () => ({
  HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
  HUBSPOT_BASE_URL: hubspot.url,
  BRIDGE_URL: model.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: model.behaviour.model,
});
let ticketSeq = 5_000_000_000 + Math.floor(Math.random() * 1e6);

/** A webhook task whose ticket HubSpot did not know when intake ran: failed, untriaged. */
async function failedBeforeTriage() {
  const ticketId = String(++ticketSeq);
  const task = await hubspotTask(t.current.db, ticketId);
  const { deps } = testDeps(t.current.db, env());
  const res = await runFunction(intake, {
    deps,
    event: { name: "task/submitted", data: { taskId: task.id, source: "hubspot" } },
  });
  expect(res.result).toMatchObject({ state: "failed_needs_triage", class: "external_api" });
  return { taskId: task.id, ticketId };
}

const rowOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const eventsOf = async (id: string) =>
  t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);

async function retry(taskId: string, key: string) {
  const a = testApp(t.current.db, env());
  const res = await a.request(`/api/tasks/${taskId}/retry`, {
    method: "POST",
    headers: { "idempotency-key": key },
    json: { reason: "HubSpot restored the ticket" },
  });
  return { res, body: (await res.json()) as Record<string, any>, sent: a.events.sent };
}

describe("retry of a task intake never triaged", () => {
  it("is triaged again first: 202, the task stays failed, then retriage enriches, triages and sends it to ready", async () => {
    const { taskId, ticketId } = await failedBeforeTriage();
    expect((await rowOf(taskId))?.triagedAt).toBeNull();
    hubspot.addTicket({
      id: ticketId,
      properties: { subject: "Map the lifecycle stages", content: "Lead, MQL, SQL, Customer." },
    });

    const first = await retry(taskId, "retry-untriaged-1");
    expect(first.res.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body.task).toMatchObject({ id: taskId, state: "failed_needs_triage" });
    expect(first.body.retriage).toMatchObject({ replayed: false, actor: "api" });
    expect(first.body.transition).toBeUndefined();
    const requested = first.sent.filter((e) => e.name === "task/retriage.requested");
    expect(requested).toHaveLength(1);
    expect(requested[0]?.data).toMatchObject({
      taskId,
      source: "hubspot",
      from: "failed_needs_triage",
      requestEventId: first.body.retriage.event_id,
    });
    // Nothing went to the queue: no task/ready, the placeholder title, still untriaged.
    expect(first.sent.some((e) => e.name === "task/ready")).toBe(false);
    expect(await rowOf(taskId)).toMatchObject({
      status: "failed_needs_triage",
      title: `HubSpot ticket ${ticketId}`,
      triagedAt: null,
      statusReason: "retried: HubSpot restored the ticket",
    });

    const { deps, events } = testDeps(t.current.db, env());
    const res = await runFunction(retriage, { deps, event: requested[0] as never });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ state: "ready", via: "local-model" });
    const row = await rowOf(taskId);
    expect(row).toMatchObject({
      status: "ready",
      title: "Map the lifecycle stages",
      description: "Lead, MQL, SQL, Customer.",
      priority: 2,
      rubric: ["Every lifecycle stage is mapped"],
    });
    expect(row?.triagedAt).not.toBeNull();
    expect(row?.statusReason).toBe(
      "retried: HubSpot restored the ticket; triaged (local-model): CRM lifecycle mapping",
    );
    expect(events.sent.map((e) => e.name)).toEqual(["task/state.changed", "task/ready"]);
    const log = await eventsOf(taskId);
    expect(log.map((e) => e.kind)).toEqual([
      "submitted",
      "state_changed", // intake → failed_needs_triage (the ticket was missing)
      "retriage",
      "enriched",
      "triage",
      "state_changed", // failed_needs_triage → ready
    ]);
    expect(log.at(-1)?.payload).toMatchObject({ from: "failed_needs_triage", to: "ready" });

    // The same key again, after the task moved on: the same request, nothing new.
    const again = await retry(taskId, "retry-untriaged-1");
    expect(again.res.status).toBe(202);
    expect(again.res.headers.get("idempotent-replayed")).toBe("true");
    expect(again.body.retriage).toMatchObject({ event_id: first.body.retriage.event_id, replayed: true });
    expect((await eventsOf(taskId)).length).toBe(log.length);
    // A new retry of a task now in ready is refused as any retry there is.
    const other = await retry(taskId, "retry-untriaged-2");
    expect(other.res.status).toBe(409);

    // It works and fails again (triaged now): the first key repeated is still that first request,
    // never a 500 from the log's key index under the move the retry would now make.
    await t.current.db.update(tasks).set({ status: "failed_needs_triage" }).where(eq(tasks.id, taskId));
    const late = await retry(taskId, "retry-untriaged-1");
    expect(late.res.status).toBe(202);
    expect(late.body.retriage).toMatchObject({ event_id: first.body.retriage.event_id, replayed: true });
    expect((await rowOf(taskId))?.status).toBe("failed_needs_triage");
  });

  it("a ticket still missing leaves the task failed, with the new reason and a note, once per step", async () => {
    const { taskId } = await failedBeforeTriage();
    const first = await retry(taskId, "retry-untriaged-3");
    expect(first.res.status).toBe(202);
    const event = first.sent.find((e) => e.name === "task/retriage.requested");
    const { deps } = testDeps(t.current.db, env());
    for (let i = 0; i < 2; i++) {
      const res = await runFunction(retriage, { deps, event: event as never, runId: "01RETRIAGE1" });
      expect(res.result).toMatchObject({ state: "failed_needs_triage", class: "external_api" });
    }
    const row = await rowOf(taskId);
    expect(row).toMatchObject({
      status: "failed_needs_triage",
      failureClass: "external_api",
      triagedAt: null,
    });
    expect(row?.statusReason).toMatch(/^external_api: /);
    const notes = (await eventsOf(taskId)).filter((e) => e.kind === "note");
    expect(notes).toHaveLength(1);
    expect((notes[0]?.payload as { text?: string } | undefined)?.text).toMatch(
      /^The retry could not triage the task; it stays failed needs triage\. external_api: /,
    );
  });

  it("a triaged task's retry is the plain move to ready, as before", async () => {
    const task = await insertTask(t.current.db, { status: "failed_needs_triage", triagedAt: new Date() });
    const r = await retry(task.id, "retry-triaged-1");
    expect(r.res.status).toBe(200);
    expect(r.body.transition).toMatchObject({ from: "failed_needs_triage", to: "ready" });
    expect(r.sent.map((e) => e.name)).toEqual(["task/state.changed", "task/ready"]);
  });
});

describe.runIf(onPostgres)("retries racing with one key (real Postgres)", () => {
  it("20 concurrent requests with one key (a double click, a client's retry), five times over: one request, the rest its replays, no 500", async () => {
    for (let round = 0; round < 5; round++) {
      const { taskId } = await failedBeforeTriage();
      const input = {
        taskId,
        from: "failed_needs_triage" as const,
        key: `race-${round}`,
        actor: "api:ops",
        reason: "retry: HubSpot restored the ticket",
      };
      const results = await Promise.all(
        Array.from({ length: 20 }, () => requestRetriage(t.current.db, input)),
      );
      const requests = results.filter((r) => r !== "triaged" && !r.replayed);
      expect(requests).toHaveLength(1);
      expect((await eventsOf(taskId)).filter((e) => e.kind === "retriage")).toHaveLength(1);
    }
  });
});
