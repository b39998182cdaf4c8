// intake end to end over the real SDKs and local fakes: a HubSpot-sourced task is enriched from its
// ticket (company → project on first sight), triaged by the local router model or — when the model
// is down, or answers invalid JSON or an unknown worker twice — by the recorded rules, and moved to
// ready; with open dependencies it waits in intake; a ticket HubSpot does not know goes to triage.
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { outbox, projects, taskDependencies, taskEvents, tasks, tokenUsage } from "../db/schema/index.ts";
import { enrichFromTicket } from "../lib/intake/enrich.ts";
import { publishSettled } from "../lib/outbox/publish.ts";
import { submitTask } from "../lib/tasks/submit.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { type OpenAIUpstream, promptTokens, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import { hubspotTask as createHubspotTask, insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { intake } from "./intake.ts";

const t = useTestDb();
let hubspot: FakeHubSpot;
let model: OpenAIUpstream;
beforeAll(async () => {
  [hubspot, model] = await Promise.all([startFakeHubSpot(), startOpenAIUpstream()]);
});
afterAll(async () => {
  await Promise.all([hubspot?.close(), model?.close()]);
});

const verdict = (over: Record<string, unknown> = {}) => ({
  worker: "crm-setup",
  priority: "P1",
  rubric: ["The Service Hub pipeline has the agreed stages"],
  internal_stamp_required: false,
  reason: "CRM configuration request for Service Hub",
  ...over,
});
/** The model answers these in order, then repeats the last one. */
function scriptModel(...answers: unknown[]) {
  const queue = [...answers];
  Object.defineProperty(model.behaviour, "json", {
    configurable: true,
    get: () => (queue.length > 1 ? queue.shift() : queue[0]),
  });
}

const env = () => ({
  HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
  HUBSPOT_BASE_URL: hubspot.url,
  BRIDGE_URL: model.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: model.behaviour.model,
});
let ticketSeq = 4_294_967_296 + Math.floor(Math.random() * 1e6); // above 2^32
const nextTicket = () => String(++ticketSeq);

const hubspotTask = (ticketId: string) => createHubspotTask(t.current.db, ticketId);
const run = async (taskId: string, source: "hubspot" | "api", e = env()) => {
  const { deps, events } = testDeps(t.current.db, e);
  const res = await runFunction(intake, {
    deps,
    event: { name: "task/submitted", data: { taskId, source } },
  });
  // The "sent" marks are written in the background (publish does not wait for them): let them land.
  await publishSettled(deps);
  return { ...res, events };
};
const rowOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const kindsOf = async (id: string) =>
  (await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id)).map(
    (e) => e.kind,
  );
const triageOf = async (id: string) =>
  (await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id))).find(
    (e) => e.kind === "triage",
  )?.payload as Record<string, any> | undefined;

beforeEach(() => {
  model.clearFaults();
  scriptModel(verdict());
});

describe("intake", () => {
  it("enriches from the ticket, creates the company's project, triages with the local model and moves to ready", async () => {
    const ticketId = nextTicket();
    const companyId = `c${ticketId}`;
    hubspot.addCompany(companyId, { name: `Acme ${ticketId}`, domain: "acme.example" });
    hubspot.addTicket({
      id: ticketId,
      properties: { subject: "Configure the Service Hub pipeline", content: "Stages: New, Waiting, Closed." },
      companyIds: [companyId],
    });
    const task = await hubspotTask(ticketId);
    const res = await run(task.id, "hubspot");
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ state: "ready", via: "local-model" });

    const row = await rowOf(task.id);
    const [project] = await t.current.db
      .select()
      .from(projects)
      .where(eq(projects.hubspotCompanyId, companyId));
    expect(project?.name).toBe(`Acme ${ticketId}`);
    expect(row).toMatchObject({
      status: "ready",
      title: "Configure the Service Hub pipeline",
      description: "Stages: New, Waiting, Closed.",
      projectId: project?.id,
      priority: 1,
      rubric: ["The Service Hub pipeline has the agreed stages"],
      // The model waived it, but a new company's project requires an internal stamp (the default).
      requiresInternalStamp: true,
      sourceRef: ticketId,
    });
    expect(row?.triagedAt).toBeInstanceOf(Date);
    expect(await kindsOf(task.id)).toEqual(["submitted", "enriched", "triage", "state_changed"]);
    expect(await triageOf(task.id)).toMatchObject({
      via: "local-model",
      reason: verdict().reason,
      attempts: 1,
    });
    expect(res.events.sent.map((e) => e.name)).toEqual(["task/state.changed", "task/ready"]);
    // The router's tokens are metered like every model call: the local tier at its GPU price.
    const metered = await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, task.id));
    expect(metered).toHaveLength(1);
    expect(metered[0]).toMatchObject({ purpose: "triage", tier: "local", provider: "bridge" });
    expect((metered[0]?.tokensIn ?? 0) + (metered[0]?.tokensOut ?? 0)).toBeGreaterThan(0);
    expect(Number(metered[0]?.costUsd)).toBeGreaterThan(0);
    // The model was asked with a JSON schema, and the ticket text was fenced as data.
    const asked = model.requests.at(-1) as {
      response_format?: { type: string };
      messages: { content: string }[];
    };
    expect(asked.response_format?.type).toBe("json_schema");
    expect(asked.messages[1]?.content).toContain("<<<TASK");
  });

  it("reuses the project for a second ticket of the same company", async () => {
    const companyId = `shared-${nextTicket()}`;
    hubspot.addCompany(companyId, { name: `Shared ${companyId}` });
    const ids = [nextTicket(), nextTicket()];
    for (const id of ids)
      hubspot.addTicket({ id, properties: { subject: `ticket ${id}` }, companyIds: [companyId] });
    for (const id of ids) await run((await hubspotTask(id)).id, "hubspot");
    expect(
      await t.current.db.select().from(projects).where(eq(projects.hubspotCompanyId, companyId)),
    ).toHaveLength(1);
  });

  it("falls back to the rules when the local model is down, and records why", async () => {
    model.fail({ status: 503, body: { error: { message: "no capacity" } }, headers: { "retry-after": "1" } });
    const task = (
      await submitTask(
        t.current.db,
        { title: "URGENT: the HubSpot form is down" },
        { source: "api", actor: "api" },
      )
    ).task;
    const res = await run(task.id, "api");
    expect(res.result).toMatchObject({ state: "ready", via: "rules" });
    expect(await rowOf(task.id)).toMatchObject({ status: "ready", priority: 0, workerId: "crm-setup" });
    const recorded = await triageOf(task.id);
    expect(recorded).toMatchObject({ via: "rules" });
    expect(recorded?.fallback).toContain("local model unavailable");
    // No answer, no tokens.
    expect(await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, task.id))).toEqual([]);
  });

  it("repairs one invalid answer, and falls back after two", async () => {
    scriptModel({ worker: "crm-setup" }, verdict({ reason: "second answer" }));
    const once = (await submitTask(t.current.db, { title: "repair once" }, { source: "api", actor: "api" }))
      .task;
    await run(once.id, "api");
    expect(await triageOf(once.id)).toMatchObject({
      via: "local-model",
      attempts: 2,
      reason: "second answer",
    });

    scriptModel("not a verdict");
    const twice = (
      await submitTask(t.current.db, { title: "invalid twice" }, { source: "api", actor: "api" })
    ).task;
    await run(twice.id, "api");
    const recorded = await triageOf(twice.id);
    expect(recorded).toMatchObject({ via: "rules", attempts: 2 });
    expect(recorded?.fallback).toContain("invalid twice");
    expect(await rowOf(twice.id)).toMatchObject({ status: "ready" });
    // Two answers the GPU computed and the rules replaced: metered all the same.
    const asked = model.requests.slice(-2).map((b) => promptTokens(b as Parameters<typeof promptTokens>[0]));
    expect(
      (await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, twice.id))).map(
        (u) => u.tokensIn,
      ),
    ).toEqual([(asked[0] ?? 0) + (asked[1] ?? 0)]);
  });

  it("never takes a worker the model invents", async () => {
    scriptModel(verdict({ worker: "root-shell" }));
    const task = (await submitTask(t.current.db, { title: "pick a worker" }, { source: "api", actor: "api" }))
      .task;
    await run(task.id, "api");
    const recorded = await triageOf(task.id);
    expect(recorded?.fallback).toContain("unknown worker 'root-shell'");
    expect(await rowOf(task.id)).toMatchObject({ workerId: "crm-setup" });
  });

  it("leaves a task with open dependencies in intake, triaged, with the reason", async () => {
    const dep = await insertTask(t.current.db, { status: "working" });
    const task = (
      await submitTask(
        t.current.db,
        { title: "after the other", depends_on: [dep.id] },
        { source: "api", actor: "api" },
      )
    ).task;
    const res = await run(task.id, "api");
    expect(res.result).toMatchObject({ state: "waiting" });
    const row = await rowOf(task.id);
    expect(row).toMatchObject({ status: "intake", statusReason: "triaged; waiting for its dependencies" });
    expect(row?.triagedAt).toBeInstanceOf(Date);
    const edges = await t.current.db
      .select()
      .from(taskDependencies)
      .where(eq(taskDependencies.taskId, task.id));
    expect(edges).toHaveLength(1);
  });

  it("sends a task that depends on an already-cancelled task to triage with class dependency, not to wait forever", async () => {
    const open = await insertTask(t.current.db, { status: "working" });
    const dropped = await insertTask(t.current.db, { status: "cancelled" });
    const task = (
      await submitTask(
        t.current.db,
        { title: "after a cancelled one", depends_on: [open.id, dropped.id] },
        { source: "api", actor: "api" },
      )
    ).task;
    const res = await run(task.id, "api");
    expect(res.result).toMatchObject({ state: "failed_needs_triage" });
    const row = await rowOf(task.id);
    expect(row).toMatchObject({ status: "failed_needs_triage", failureClass: "dependency" });
    expect(row?.statusReason).toContain(`task ${dropped.id}, which it depends on, was cancelled`);
    expect(row?.triagedAt).toBeInstanceOf(Date);
    // The move owes its task/state.changed (notify tells a person), sent by the step.
    const [changed] = await t.current.db
      .select()
      .from(outbox)
      .where(and(eq(outbox.name, "task/state.changed"), sql`${outbox.data}->>'taskId' = ${task.id}`));
    expect(changed?.sentAt).toBeInstanceOf(Date);
  });

  it("sends a task whose ticket HubSpot does not know to failed_needs_triage", async () => {
    const task = await hubspotTask(nextTicket()); // never added to the fake
    const res = await run(task.id, "hubspot");
    expect(res.result).toMatchObject({ state: "failed_needs_triage", class: "external_api" });
    expect(await rowOf(task.id)).toMatchObject({ status: "failed_needs_triage" });
    expect((await rowOf(task.id))?.statusReason).toMatch(/^external_api: Ticket \d+ does not exist/);
  });

  it("withdraws a ticket from a pipeline it does not watch", async () => {
    const ticketId = nextTicket();
    hubspot.addTicket({ id: ticketId, properties: { subject: "elsewhere", hs_pipeline: "0" } });
    const task = await hubspotTask(ticketId);
    const res = await run(task.id, "hubspot", {
      ...env(),
      HUBSPOT_PIPELINE_ID: "foreman-pipeline",
    } as ReturnType<typeof env>);
    expect(res.result).toMatchObject({ state: "cancelled" });
    expect((await rowOf(task.id))?.statusReason).toContain("not foreman-pipeline");
  });

  it("withdraws the echo of a ticket foreman created for another task (its creation webhook came back)", async () => {
    const own = await insertTask(t.current.db, { status: "working" });
    const ticketId = nextTicket();
    hubspot.addTicket({ id: ticketId, properties: { subject: own.title, task_id: own.id } });
    const task = await hubspotTask(ticketId);
    const res = await run(task.id, "hubspot");
    expect(res.result).toMatchObject({ state: "cancelled" });
    expect((await rowOf(task.id))?.statusReason).toContain(`foreman's own ticket for task ${own.id}`);
    expect((await rowOf(own.id))?.status).toBe("working");
    // Its own ticket (the same task_id) is enriched as usual.
    const mine = nextTicket();
    const hub = await hubspotTask(mine);
    hubspot.addTicket({ id: mine, properties: { subject: "Set up the help desk", task_id: hub.id } });
    expect((await run(hub.id, "hubspot")).result).toMatchObject({ state: "ready" });
  });

  it("triages as submitted when no HubSpot token is configured, saying so", async () => {
    const task = await hubspotTask(nextTicket());
    const { HUBSPOT_ACCESS_TOKEN: _, ...withoutToken } = env();
    const res = await run(task.id, "hubspot", withoutToken as ReturnType<typeof env>);
    expect(res.result).toMatchObject({ state: "ready" });
  });
});

describe("enrichFromTicket", () => {
  it("is idempotent: the same ticket twice writes one enriched event", async () => {
    const task = await hubspotTask(nextTicket());
    const ticket = {
      id: task.sourceRef as string,
      subject: "Subject\u0000 with a NUL",
      content: "Body",
      priority: null,
      pipeline: null,
      stage: null,
      taskId: null,
      company: null,
    };
    const first = await enrichFromTicket(t.current.db, task.id, ticket);
    expect(first.changed).toEqual(["title", "description"]);
    expect(first.cleaned.some((c) => c.includes("NUL"))).toBe(true);
    const second = await enrichFromTicket(t.current.db, task.id, ticket);
    expect(second.changed).toEqual([]);
    expect((await kindsOf(task.id)).filter((k) => k === "enriched")).toHaveLength(1);
    expect((await rowOf(task.id))?.title).toBe("Subject with a NUL");
  });

  it("shortens a long emoji subject without leaving half a character (no U+FFFD in the title)", async () => {
    const task = await hubspotTask(nextTicket());
    const ticket = {
      id: task.sourceRef as string,
      // Cut at 199 and 20,000 units, both limits fall inside a character pair here.
      subject: "🎉".repeat(150),
      content: `a${"🎉".repeat(15_000)}`,
      priority: null,
      pipeline: null,
      stage: null,
      taskId: null,
      company: null,
    };
    await enrichFromTicket(t.current.db, task.id, ticket);
    const row = await rowOf(task.id);
    expect(row?.title.endsWith("🎉…")).toBe(true);
    expect(row?.title).not.toContain("\uFFFD");
    expect(row?.description).not.toContain("\uFFFD");
    expect(row?.description.endsWith("🎉")).toBe(true);
  });
});
