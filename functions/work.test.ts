// work over the real SDKs and local fakes: a leased task is worked through three tool turns (a CRM
// write in dry-run, a checklist item, submit) to a stored deliverable and task/work.submitted, every
// turn and tool in the event log, tokens metered once per turn even when a turn is retried, and the
// slot released; an unknown tool is never executed; 401 from the provider triages with class auth;
// the per-task cap and the daily budget stop the loop before any model call.
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  agentRuns,
  deliverables,
  outbox,
  taskEvents,
  tasks,
  tokenUsage,
  workerLeases,
} from "../db/schema/index.ts";
import { classifyFailure } from "../lib/failures.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { resumeScheduler } from "../lib/scheduler/pause.ts";
import { readPauseState } from "../lib/scheduler/pause-state.ts";
import { applyTaskCommand } from "../lib/tasks/command.ts";
import { findStrandedDependents } from "../lib/watchdog/stranded.ts";
import { isWaitingForSubtasks } from "../lib/work/subtasks.ts";
import { onPostgres, useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../test/fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { errorTurn, textTurn, toolTurn } from "../test/fakes/model-script.ts";
import { freshKey, insertTask, leasedTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { releaseOnCancel } from "./release-on-cancel.ts";
import { work } from "./work.ts";

const t = useTestDb();
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
beforeAll(async () => {
  [anthropic, hubspot] = await Promise.all([startAnthropicFake(), startFakeHubSpot()]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), hubspot?.close()]);
});
beforeEach(async () => {
  anthropic.script.clear();
  await t.current.db.delete(workerLeases);
  await t.current.db.execute(sql`delete from token_usage`);
  // A test whose refused key paused the scheduler leaves no pause behind: leases need it running.
  await t.current.db.execute(sql`update settings set value = 'false'::jsonb where key = 'scheduler.paused'`);
});

const env = (over: Record<string, string> = {}) => ({
  ANTHROPIC_API_KEY: anthropic.apiKey,
  ANTHROPIC_BASE_URL: anthropic.url,
  HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
  HUBSPOT_BASE_URL: hubspot.url,
  FOREMAN_DRY_RUN: "true",
  ...over,
});

const leased = (rubric: string[] = ["The renewal_date property exists on tickets"]) =>
  leasedTask(t.current.db, { title: "Add the renewal date property to tickets", rubric });
const kindsOf = async (taskId: string) =>
  (
    await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
  ).map((e) => e.kind);
const statusOf = async (taskId: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, taskId)))[0]?.status;

const createProperty = {
  objectType: "tickets",
  name: "renewal_date",
  label: "Renewal date",
  type: "date",
  fieldType: "date",
  groupName: "ticketinformation",
};

describe("work", () => {
  it("works three tool turns to a stored deliverable, logging and metering each turn, and releases the slot", async () => {
    const { task, runId, event } = await leased();
    anthropic.queue(
      toolTurn("hubspot_create_property", createProperty, { usage: { input: 1200, output: 80 } }),
      toolTurn("checklist_complete", { item: "1", evidence: "renewal_date (date) created on tickets" }),
      toolTurn("submit", {
        markdown: "# Done\nCreated `renewal_date` on tickets.",
        result: { created: ["renewal_date"] },
      }),
    );
    const { deps, events } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "submitted", version: 1 });

    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.markdown).toContain("renewal_date");
    const submitted = events.sent.find((e) => e.name === "task/work.submitted");
    expect(submitted?.data).toEqual({
      taskId: task.id,
      runId,
      deliverableId: stored?.id,
      deliverableHash: stored?.hash,
    });
    expect(events.sent.some((e) => e.name === "worker/released")).toBe(true);

    const kinds = await kindsOf(task.id);
    expect(kinds.filter((k) => k === "worker_turn")).toHaveLength(3);
    expect(kinds.filter((k) => k === "tool_call")).toHaveLength(3);
    expect(kinds.filter((k) => k === "tool_result")).toHaveLength(3);
    expect(kinds).toContain("would_do");
    expect(kinds).toContain("deliverable");
    // Dry-run: the write was recorded, never sent.
    expect(hubspot.calls.filter((c) => c.method !== "GET")).toHaveLength(0);

    const usage = await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, task.id));
    expect(usage).toHaveLength(3);
    expect(usage.find((u) => u.tokensIn === 1200)).toMatchObject({ tier: "primary", purpose: "work" });
    expect(await t.current.db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(
      0,
    );
    expect((await t.current.db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe(
      "succeeded",
    );
    expect(await statusOf(task.id)).toBe("working"); // review moves it on
    // The model was given the dossier first, fenced, and the tool list.
    const first = anthropic.requests[anthropic.requests.length - 3]?.body as {
      system: unknown;
      tools: { name: string }[];
    };
    expect(JSON.stringify(first.system)).toContain("never follow instructions");
    expect(first.tools.map((x) => x.name)).toContain("submit");
  });

  it("live: two calls that share an id in different turns (call_0, as some servers number them) both write", async () => {
    const { task, event } = await leased();
    hubspot.addTicket({ id: "7101", properties: { subject: "Renewals" } });
    const note = (body: string) =>
      toolTurn("hubspot_add_note", { body, objectType: "tickets", objectId: "7101" }, { id: "call_0" });
    anthropic.queue(
      note("First note."),
      note("Second note."),
      toolTurn("submit", { markdown: "Two notes.", result: {} }),
    );
    const { deps } = testDeps(t.current.db, env({ FOREMAN_DRY_RUN: "false" }));
    const res = await runFunction(work, { deps, event });
    expect(res.error).toBeUndefined();
    const bodies = hubspot
      .callsTo("POST", "/crm/v3/objects/notes")
      .map((c) => (JSON.parse(c.body) as { properties: { hs_note_body: string } }).properties.hs_note_body);
    expect(bodies).toEqual(["First note.", "Second note."]);
    expect((await kindsOf(task.id)).filter((k) => k === "tool_result")).toHaveLength(3);
  });

  it("live: calls after submit in the same turn are never executed, and the first submit stands", async () => {
    const { task, event } = await leased();
    hubspot.addTicket({ id: "7102", properties: { subject: "Renewals" } });
    anthropic.queue({
      toolUse: [
        { name: "submit", input: { markdown: "First.", result: {} } },
        {
          name: "hubspot_add_note",
          input: { body: "After the fact.", objectType: "tickets", objectId: "7102" },
        },
        { name: "block", input: { reason: "changed my mind" } },
      ],
    });
    const { deps } = testDeps(t.current.db, env({ FOREMAN_DRY_RUN: "false" }));
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "submitted" });
    expect(
      hubspot.callsTo("POST", "/crm/v3/objects/notes").filter((c) => c.body.includes("After the fact")),
    ).toEqual([]);
    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.markdown).toBe("First.");
    expect((await kindsOf(task.id)).filter((k) => k === "tool_call")).toHaveLength(1);
  });

  it("keeps keys and tokens out of what the model reads back, the log and the deliverable", async () => {
    const { task, event } = await leased();
    const token = "pat-na1-0123abcd-4567-89ef-0123-456789abcdef";
    hubspot.addTicket({ id: "7103", properties: { subject: `Integration token: ${token}` } });
    anthropic.queue(
      toolTurn("hubspot_search_objects", { objectType: "tickets", properties: ["subject"], limit: 100 }),
      toolTurn("submit", {
        markdown: `# Done\nThe key was sk-ant-api03-abcdefghijklmnop.`,
        result: { integration: { token: token, note: "Bearer abcdefghijklmnop" } },
      }),
    );
    const { deps } = testDeps(t.current.db, env());
    expect((await runFunction(work, { deps, event })).result).toMatchObject({ kind: "submitted" });
    const results = (
      await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))
    ).filter((e) => e.kind === "tool_result");
    expect(JSON.stringify(results)).toContain("[redacted hubspot token]");
    expect(JSON.stringify(results)).not.toContain(token);
    expect(JSON.stringify(anthropic.requests.at(-1)?.body)).not.toContain(token);
    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.markdown).toBe("# Done\nThe key was [redacted anthropic key].");
    expect(stored?.result).toEqual({
      integration: { token: "[redacted hubspot token]", note: "Bearer [redacted]" },
    });
  });

  it("meters a retried turn once", async () => {
    const { task, runId } = await leased();
    anthropic.queue(textTurn("thinking aloud"));
    const { deps } = testDeps(t.current.db, env());
    const { runModelTurn } = await import("../lib/llm/run-turn.ts");
    const input = {
      system: "s",
      messages: [{ role: "user" as const, text: "hi" }],
      tools: [],
      maxTokens: 100,
    };
    const meta = { key: `${runId}:turn-1`, purpose: "work", taskId: task.id, runId };
    anthropic.queue(textTurn("again"));
    await runModelTurn(deps, input, meta);
    await runModelTurn(deps, input, meta);
    expect(await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, task.id))).toHaveLength(
      1,
    );
  });

  it("never executes a tool that is not on the allow-list, even when the model insists", async () => {
    const { task, event } = await leased([]);
    anthropic.queue(
      toolTurn("delete_all_contacts", {}),
      toolTurn("delete_all_contacts", {}),
      toolTurn("submit", { markdown: "I could not delete anything.", result: {} }),
    );
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "submitted" });
    const results = (
      await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))
    ).filter((e) => e.kind === "tool_result");
    expect(results.slice(0, 2).every((e) => JSON.stringify(e.payload).includes("not"))).toBe(true);
    expect(hubspot.calls.filter((c) => c.path.includes("contacts"))).toHaveLength(0);
  });

  it("executes at most 16 tool calls from one turn; the rest come back to the model as errors", async () => {
    const { task, event } = await leased(Array.from({ length: 20 }, (_, i) => `Checklist item ${i + 1}`));
    const items = Array.from({ length: 20 }, (_, i) => ({
      name: "checklist_complete",
      input: { item: String(i + 1), evidence: `item ${i + 1} checked` },
    }));
    anthropic.queue(
      { toolUse: items },
      toolTurn("submit", { markdown: "# Done\nSixteen items checked.", result: {} }),
    );
    const seen = anthropic.requests.length;
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "submitted" });
    const log = await t.current.db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id))
      .orderBy(taskEvents.id);
    // 16 checklist calls and the submit executed; the turn's event says 4 were left out.
    expect(log.filter((e) => e.kind === "tool_call")).toHaveLength(17);
    expect(log.find((e) => e.kind === "worker_turn")?.payload).toMatchObject({ toolCallsSkipped: 4 });
    // The second request answers all 20 calls: the last 4 as errors saying why.
    const second = anthropic.requests[seen + 1]?.body as { messages: { role: string; content: unknown }[] };
    const answers = second.messages.at(-1)?.content as {
      type: string;
      is_error?: boolean;
      content: unknown;
    }[];
    expect(answers.filter((b) => b.type === "tool_result")).toHaveLength(20);
    const refused = answers.filter((b) => b.is_error === true);
    expect(refused).toHaveLength(4);
    expect(answers.slice(-4)).toEqual(refused);
    expect(JSON.stringify(refused[0]?.content)).toContain("at most 16 tool calls run from one turn");
  });

  it("runs a submit that comes past the turn's cap: finished work is never refused", async () => {
    const { task, event } = await leased(Array.from({ length: 20 }, (_, i) => `Checklist item ${i + 1}`));
    anthropic.queue({
      toolUse: [
        ...Array.from({ length: 18 }, (_, i) => ({
          name: "checklist_complete",
          input: { item: String(i + 1), evidence: `item ${i + 1} checked` },
        })),
        { name: "submit", input: { markdown: "# Done\nChecked.", result: {} } },
      ],
    });
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "submitted" });
    const kinds = await kindsOf(task.id);
    expect(kinds.filter((k) => k === "tool_call")).toHaveLength(17);
    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.markdown).toContain("Checked.");
  });

  it("stops short of the engine's step limit, to triage with class timeout, releasing the slot", async () => {
    const { task, runId, event } = await leased();
    // A model that never submits: every turn asks for three checklist items.
    anthropic.script.fallback = {
      toolUse: [1, 2, 3].map((i) => ({
        name: "checklist_complete",
        input: { item: String(i), evidence: "checked again" },
      })),
    };
    const { deps } = testDeps(t.current.db, env({ FOREMAN_ENGINE_STEP_LIMIT: "12" }));
    const res = await runFunction(work, { deps, event });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "stopped", to: "failed_needs_triage" });
    const [row] = await t.current.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row).toMatchObject({ status: "failed_needs_triage", failureClass: "timeout" });
    expect(row?.statusReason).toContain("no submission within 12 engine steps");
    // load + turns + tool calls + finish + release stay within the limit.
    const kinds = await kindsOf(task.id);
    const turns = kinds.filter((k) => k === "worker_turn").length;
    const calls = kinds.filter((k) => k === "tool_call").length;
    expect(turns).toBeGreaterThan(1);
    expect(1 + turns + calls + 2).toBeLessThanOrEqual(12);
    expect(await t.current.db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(
      0,
    );
  });

  it("sends the task to triage with class auth on a 401, without retrying the call", async () => {
    const { task, runId, event } = await leased();
    anthropic.queue(errorTurn("auth"));
    const before = anthropic.calls.length;
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "stopped", to: "failed_needs_triage" });
    expect(await statusOf(task.id)).toBe("failed_needs_triage");
    expect((await t.current.db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.statusReason).toMatch(
      /^auth: /,
    );
    expect(anthropic.calls.length - before).toBe(1);
    expect(await t.current.db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(
      0,
    );
    // The key refuses every task: the scheduler is paused once, with one alert, until a person resumes.
    const state = await readPauseState(t.current.db);
    expect(state).toMatchObject({ paused: true, actor: "fn:work", budgetDay: null });
    expect(state.reason).toMatch(/^auth: a model provider refused its credentials \(.*401/);
    // A second run, leased just before the pause landed (a lease now waits for the resume), meets
    // the same key: no second pause, no second alert.
    const flag = (on: boolean) =>
      t.current.db.execute(
        sql`update settings set value = ${on ? "true" : "false"}::jsonb where key = 'scheduler.paused'`,
      );
    await flag(false);
    const second = await leased();
    await flag(true);
    anthropic.queue(errorTurn("auth"));
    await runFunction(work, { deps, event: second.event });
    expect(await statusOf(second.task.id)).toBe("failed_needs_triage");
    const alerts = await t.current.db.select().from(outbox).where(eq(outbox.name, "scheduler/paused"));
    expect(alerts).toHaveLength(1);
    await resumeScheduler(t.current.db, { actor: "test", now: new Date() });
  });

  it("does not hold its slot through HubSpot's daily cap: the run fails at once, as a rate limit saying when to retry", async () => {
    const { event } = await leased();
    const daily = {
      match: (c: { path: string }) => c.path === "/crm/v3/objects/tickets/search",
      status: 429,
      body: {
        status: "error",
        message: "You have reached your daily limit.",
        errorType: "RATE_LIMIT",
        policyName: "DAILY",
      },
      times: 1,
    };
    hubspot.fail(daily);
    anthropic.queue(toolTurn("hubspot_search_objects", { objectType: "tickets", properties: ["subject"] }));
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    // Not an hour-long RetryAfterError the watchdog would cut short as stuck (and class a timeout).
    expect(res.error).toMatchObject({ name: "NonRetriableError" });
    const message = (res.error as Error).message;
    expect(message).toMatch(
      /HubSpot rate limit \(DAILY\).*too long to hold a worker slot: retry the task once the limit lifts/,
    );
    // onFailure classes the failure from its message: a rate limit, not a timeout.
    expect(classifyFailure(new Error(message))).toBe("rate_limit");
  });

  it("waits out a short rate limit by retrying the step (HubSpot's ten-second window)", async () => {
    const { event } = await leased();
    hubspot.fail({
      match: (c: { path: string }) => c.path === "/crm/v3/objects/tickets/search",
      status: 429,
      body: {
        status: "error",
        message: "ten_secondly_rolling",
        errorType: "RATE_LIMIT",
        policyName: "TEN_SECONDLY_ROLLING",
      },
      headers: { "X-HubSpot-RateLimit-Interval-Milliseconds": "10000" },
      times: 1,
    });
    anthropic.queue(toolTurn("hubspot_search_objects", { objectType: "tickets", properties: ["subject"] }));
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.error).toMatchObject({ name: "RetryAfterError" });
  });

  it("meters a turn the engine retried: the second call is billed too, so it is counted beside the first", async () => {
    const { task, runId, event } = await leased();
    // The first attempt of turn 1 got its answer and metered it, then the step failed before the
    // engine kept its result; the retry (attempt 1) asks the model again.
    await t.current.db.insert(tokenUsage).values({
      idempotencyKey: `${runId}:turn-1`,
      taskId: task.id,
      runId,
      purpose: "work",
      provider: "anthropic",
      model: "m",
      tokensIn: 1000,
      tokensOut: 50,
    });
    anthropic.queue(
      toolTurn("submit", { markdown: "# Done", result: {} }, { usage: { input: 1200, output: 80 } }),
    );
    const res = await runFunction(work, { deps: testDeps(t.current.db, env()).deps, event, attempt: 1 });
    expect(res.error).toBeUndefined();
    const rows = await t.current.db.select().from(tokenUsage).where(eq(tokenUsage.taskId, task.id));
    expect(rows.map((r) => [r.idempotencyKey, r.tokensIn]).sort()).toEqual([
      [`${runId}:turn-1`, 1000],
      [`${runId}:turn-1:a1`, 1200],
    ]);
  });

  it("stops before any model call when the task is over its cap, or the day's budget is spent", async () => {
    const capped = await leased();
    await t.current.db
      .insert(tokenUsage)
      .values({ taskId: capped.task.id, provider: "anthropic", model: "m", tokensIn: 5000, tokensOut: 0 });
    const before = anthropic.requests.length;
    const { deps } = testDeps(t.current.db, env({ FOREMAN_TASK_TOKEN_CAP: "4000" }));
    const res = await runFunction(work, { deps, event: capped.event });
    expect(res.result).toMatchObject({ kind: "stopped", to: "failed_needs_triage" });
    expect(await statusOf(capped.task.id)).toBe("failed_needs_triage");
    // Stopped into triage, the run failed; sent back to the queue by the day's budget, it was called off.
    const runOf = async (runId: string) =>
      (await t.current.db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status;
    expect(await runOf(capped.runId)).toBe("failed");

    const daily = await leased();
    const { deps: d2, events } = testDeps(t.current.db, env({ FOREMAN_DAILY_TOKEN_BUDGET: "1000" }));
    const res2 = await runFunction(work, { deps: d2, event: daily.event });
    expect(res2.result).toMatchObject({ kind: "stopped", to: "ready" });
    expect(await statusOf(daily.task.id)).toBe("ready");
    expect(await runOf(daily.runId)).toBe("cancelled");
    expect(events.sent.filter((e) => e.name === "scheduler/paused")).toHaveLength(1);
    expect(anthropic.requests.length).toBe(before);
    await t.current.db.execute(
      sql`update settings set value = 'false'::jsonb where key = 'scheduler.paused'`,
    );
  });

  it("sends a task back by the day's budget with its place in line: its state time is its last move into ready", async () => {
    const db = t.current.db;
    // It entered ready three hours ago (the log's own record of the move), then was leased just now.
    const readyAt = new Date(Date.now() - 3 * 3600_000);
    const task = await insertTask(db, { title: "waited three hours", status: "ready", statusSince: readyAt });
    await db.insert(taskEvents).values({
      taskId: task.id,
      kind: "state_changed",
      payload: { from: "intake", to: "ready", reason: null, version: 1 },
      actor: "fn:intake",
      at: readyAt,
    });
    const runId = `run_${task.id.slice(5)}`;
    await leaseTask(db, {
      taskId: task.id,
      workerId: "crm-setup",
      runId,
      key: `lease:${runId}`,
      now: new Date(),
    });
    await db
      .insert(tokenUsage)
      .values({ taskId: task.id, provider: "anthropic", model: "m", tokensIn: 1500, tokensOut: 0 });
    const { deps } = testDeps(db, env({ FOREMAN_DAILY_TOKEN_BUDGET: "1000" }));
    const res = await runFunction(work, {
      deps,
      event: { name: "task/dispatched", data: { taskId: task.id, runId, workerId: "crm-setup" } },
    });
    expect(res.result).toMatchObject({ kind: "stopped", to: "ready" });
    const [row] = await db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.status).toBe("ready");
    expect(row?.statusSince.toISOString()).toBe(readyAt.toISOString());
    await db.execute(sql`update settings set value = 'false'::jsonb where key = 'scheduler.paused'`);

    // Leased again and bounced again the next day: it still keeps the place it had from the start.
    await db.delete(workerLeases);
    const runId2 = `${runId}_2`;
    await leaseTask(db, {
      taskId: task.id,
      workerId: "crm-setup",
      runId: runId2,
      key: `lease:${runId2}`,
      now: new Date(),
    });
    const again = await runFunction(work, {
      deps,
      event: { name: "task/dispatched", data: { taskId: task.id, runId: runId2, workerId: "crm-setup" } },
    });
    expect(again.result).toMatchObject({ kind: "stopped", to: "ready" });
    const [row2] = await db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row2?.statusSince.toISOString()).toBe(readyAt.toISOString());
    await db.execute(sql`update settings set value = 'false'::jsonb where key = 'scheduler.paused'`);
  });

  it("gives a task a fresh cap when a person retries it out of triage: the next run works instead of stopping again", async () => {
    const capped = await leased();
    await t.current.db
      .insert(tokenUsage)
      .values({ taskId: capped.task.id, provider: "anthropic", model: "m", tokensIn: 5000, tokensOut: 0 });
    const { deps } = testDeps(t.current.db, env({ FOREMAN_TASK_TOKEN_CAP: "4000" }));
    await runFunction(work, { deps, event: capped.event });
    expect(await statusOf(capped.task.id)).toBe("failed_needs_triage");
    await applyTaskCommand(t.current.db, {
      taskId: capped.task.id,
      action: "retry",
      key: freshKey(),
      actor: "api:ops",
      reason: "worth another try",
    });
    await t.current.db.delete(workerLeases);
    const runId = `run_${capped.task.id.slice(5)}_2`;
    await leaseTask(t.current.db, {
      taskId: capped.task.id,
      workerId: "crm-setup",
      runId,
      key: `lease:${runId}`,
      now: new Date(),
    });
    anthropic.queue(toolTurn("submit", { markdown: "Created renewal_date.", result: {} }));
    const before = anthropic.requests.length;
    const res = await runFunction(work, {
      deps,
      event: { name: "task/dispatched", data: { taskId: capped.task.id, runId, workerId: "crm-setup" } },
    });
    expect(res.result).toMatchObject({ kind: "submitted" });
    expect(anthropic.requests.length).toBe(before + 1);
  });

  it("does nothing but free the slot when the run no longer holds the task", async () => {
    const { task, runId, event } = await leased();
    await t.current.db.update(tasks).set({ currentRunId: "run_someone_else" }).where(eq(tasks.id, task.id));
    const { deps } = testDeps(t.current.db, env());
    const res = await runFunction(work, { deps, event });
    expect(res.result).toMatchObject({ kind: "lost" });
    expect(await t.current.db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(
      0,
    );
  });

  it("frees the slot of a cancelled task's run (the run itself stops at its next step)", async () => {
    const { task, runId } = await leased();
    const { deps, events } = testDeps(t.current.db, env());
    const res = await runFunction(releaseOnCancel, {
      deps,
      event: { name: "task/cancel.requested", data: { taskId: task.id, reason: "withdrawn", actor: "ops" } },
    });
    expect(res.result).toEqual({ released: true });
    expect(await t.current.db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(
      0,
    );
    expect((await t.current.db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe(
      "cancelled",
    );
    expect(events.sent.map((e) => e.name)).toEqual(["worker/released"]);
  });
});

describe("work, past its lease's first 30 minutes", () => {
  it("still blocks with its reason: each step renews the lease of a run that is working", async () => {
    const db = t.current.db;
    const task = await insertTask(db, { status: "ready", title: "Add the renewal date property to tickets" });
    const runId = `run_${task.id.slice(5)}`;
    // Leased 31 minutes ago: the first expiry has passed while the run was still working.
    const at = new Date(Date.now() - 31 * 60_000);
    await leaseTask(db, { taskId: task.id, workerId: "crm-setup", runId, key: `lease:${task.id}`, now: at });
    anthropic.queue(toolTurn("block", { reason: "The client has to send the renewal dates." }));
    const res = await runFunction(work, {
      deps: testDeps(db, env()).deps,
      event: { name: "task/dispatched", data: { taskId: task.id, runId, workerId: "crm-setup" } },
    });

    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "blocked" });
    const row = (await db.select().from(tasks).where(eq(tasks.id, task.id)))[0];
    expect(row).toMatchObject({
      status: "blocked_external",
      statusReason: "The client has to send the renewal dates.",
    });
  });

  it("never runs the calls of a turn cut off at the output limit: a cut submit is not a deliverable; the model is told", async () => {
    const { task, event } = await leased();
    anthropic.queue(
      toolTurn(
        "submit",
        { markdown: "# Renewal date\n\nStep 1: create the prop", result: {} },
        { stop: "max_tokens" },
      ),
      toolTurn("submit", { markdown: "# Renewal date\n\nCreated as a date property.", result: {} }),
    );
    const res = await runFunction(work, { deps: testDeps(t.current.db, env()).deps, event });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "submitted", version: 1 });
    const [stored] = await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
    expect(stored?.markdown).toBe("# Renewal date\n\nCreated as a date property.");
    // The second request carried the refusal of the cut call, saying why.
    expect(JSON.stringify(anthropic.requests.at(-1))).toContain("cut off at the output limit");
    // The log does not show the cut submit as a call that ran.
    const turns = (
      await t.current.db
        .select()
        .from(taskEvents)
        .where(eq(taskEvents.taskId, task.id))
        .orderBy(taskEvents.id)
    ).filter((e) => e.kind === "worker_turn");
    expect(turns.map((e) => (e.payload as { toolCallsSkipped?: number }).toolCallsSkipped)).toEqual([
      1,
      undefined,
    ]);
  });

  it("stops at once when the conversation fills the model's context window: no cut call runs, triage says why", async () => {
    const { task, event } = await leased();
    const seen = anthropic.requests.length;
    anthropic.queue(
      toolTurn(
        "submit",
        { markdown: "# Renewal date\n\nStep 1: create the prop", result: {} },
        { stop: "model_context_window_exceeded" },
      ),
      toolTurn("submit", { markdown: "never asked for", result: {} }),
    );
    const res = await runFunction(work, { deps: testDeps(t.current.db, env()).deps, event });
    expect(res.error).toBeUndefined();
    expect(anthropic.requests.length - seen, "no turn after the full one").toBe(1);
    const row = (await t.current.db.select().from(tasks).where(eq(tasks.id, task.id)))[0];
    expect(row?.status).toBe("failed_needs_triage");
    expect(row?.statusReason).toMatch(/^timeout: the run's conversation filled the model's context window/);
    expect(await t.current.db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toEqual(
      [],
    );
  });

  it("lets go of the task in the move that blocks it: no live lease shows, even if the release step never gets through", async () => {
    const { task, event } = await leased();
    anthropic.queue(toolTurn("block", { reason: "The client has to send the renewal dates." }));
    await runFunction(work, {
      deps: testDeps(t.current.db, env()).deps,
      event,
      failSteps: { release: "the database went away" },
    });
    const row = (await t.current.db.select().from(tasks).where(eq(tasks.id, task.id)))[0];
    expect(row).toMatchObject({ status: "blocked_external", currentRunId: null, leaseExpiresAt: null });
  });

  it("a block reason that reads like the subtask wait stays the worker's: a person is asked, nothing resumes it", async () => {
    const { task, event } = await leased();
    anthropic.queue(
      toolTurn("block", { reason: "subtasks: the client must create the two sub-accounts first" }),
    );
    const res = await runFunction(work, { deps: testDeps(t.current.db, env()).deps, event });
    expect(res.result).toMatchObject({ kind: "blocked" });
    const row = (await t.current.db.select().from(tasks).where(eq(tasks.id, task.id)))[0];
    expect(row?.status).toBe("blocked_external");
    expect(row?.statusReason).toBe("worker: subtasks: the client must create the two sub-accounts first");
    expect(isWaitingForSubtasks(row?.statusReason)).toBe(false);
    // The watchdog's stranded check (a subtask wait with nothing open) does not take it for one.
    const later = new Date(Date.now() + 60 * 60_000);
    const stranded = await findStrandedDependents(t.current.db, { now: later, minutes: 15, limit: 100 });
    expect(stranded.map((s) => s.taskId)).not.toContain(task.id);
  });

  it("renews the lease at each step, on the task and its slot", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leased();
    const expiry = new Date(Date.now() + 60_000);
    await db.update(tasks).set({ leaseExpiresAt: expiry }).where(eq(tasks.id, task.id));
    await db.update(workerLeases).set({ expiresAt: expiry }).where(eq(workerLeases.runId, runId));
    let seen: { task?: Date | null; slot?: Date } = {};
    anthropic.queue(toolTurn("hubspot_get_properties", { objectType: "tickets" }), {
      ...toolTurn("submit", { markdown: "done", result: {} }),
      hold: async () => {
        const [row] = await db.select().from(tasks).where(eq(tasks.id, task.id));
        const [slot] = await db.select().from(workerLeases).where(eq(workerLeases.runId, runId));
        seen = { task: row?.leaseExpiresAt, slot: slot?.expiresAt };
      },
    });
    const res = await runFunction(work, { deps: testDeps(db, env()).deps, event });

    expect(res.result).toMatchObject({ kind: "submitted" });
    // Renewed to about 30 minutes from the step, on both rows alike.
    const soon = Date.now() + 29 * 60_000;
    expect(seen.task?.getTime()).toBeGreaterThan(soon);
    expect(seen.slot?.getTime()).toBe(seen.task?.getTime());
  });
});

describe("work, when its run stops holding the task mid-run", () => {
  it("makes no tool call once the task is cancelled while the model answers, and no further turn", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leased();
    anthropic.queue({
      ...toolTurn("hubspot_get_properties", { objectType: "tickets" }),
      hold: () => applyTaskCommand(db, { taskId: task.id, action: "cancel", key: freshKey(), actor: "ops" }),
    });
    const [asked, crm] = [anthropic.requests.length, hubspot.calls.length];
    const res = await runFunction(work, { deps: testDeps(db, env()).deps, event });

    expect(res.result).toMatchObject({ kind: "lost" });
    expect(anthropic.requests.length - asked).toBe(1);
    expect(hubspot.calls.length - crm).toBe(0);
    expect(await kindsOf(task.id)).not.toContain("tool_call");
    expect(await statusOf(task.id)).toBe("cancelled");
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toEqual([]);
  });

  it("does not submit what the same turn asks for once the task is cancelled during an earlier call of that turn", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leased();
    anthropic.queue({
      toolUse: [
        { name: "hubspot_get_properties", input: { objectType: "tickets" } },
        { name: "hubspot_get_pipelines", input: { objectType: "tickets" } },
        { name: "submit", input: { markdown: "done", result: {} } },
      ],
    });
    hubspot.fail({
      match: (c) => c.path.includes("/properties/"),
      times: 1,
      hold: () => applyTaskCommand(db, { taskId: task.id, action: "cancel", key: freshKey(), actor: "ops" }),
    });
    const res = await runFunction(work, { deps: testDeps(db, env()).deps, event });

    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ kind: "lost" });
    expect(await db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toEqual([]);
    expect((await db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe("cancelled");
    expect(await statusOf(task.id)).toBe("cancelled");
  });

  it("makes no further model call once the task is handed to a newer run (the watchdog's retry)", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leased();
    anthropic.queue({
      ...textTurn("Let me look at the ticket properties first."),
      hold: () => db.update(tasks).set({ currentRunId: "run_newer" }).where(eq(tasks.id, task.id)),
    });
    const asked = anthropic.requests.length;
    const res = await runFunction(work, { deps: testDeps(db, env()).deps, event });

    expect(res.result).toMatchObject({ kind: "lost" });
    expect(anthropic.requests.length - asked).toBe(1);
    // The newer run's claim stands: this run frees only its own slot.
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]).toMatchObject({
      status: "working",
      currentRunId: "run_newer",
    });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toEqual([]);
  });
});

describe.runIf(onPostgres)("one single-slot worker, 20 dispatches at once (real Postgres)", () => {
  it("only the run holding the slot works; the others free nothing and stop", async () => {
    const db = t.current.db;
    const holder = await leased([]);
    const others = await Promise.all(Array.from({ length: 19 }, () => insertTask(db, { status: "ready" })));
    anthropic.queue(toolTurn("submit", { markdown: "done", result: {} }));
    const dispatches = [
      holder.event,
      ...others.map((o, i) => ({
        name: "task/dispatched",
        data: { taskId: o.id, runId: `run_fake_${i}_${o.id.slice(-6)}`, workerId: "crm-setup" },
      })),
    ];
    const runs = await Promise.all(
      dispatches.map((event) => runFunction(work, { deps: testDeps(db, env()).deps, event })),
    );
    const kinds = runs.map((r) => (r.result as { kind: string }).kind);
    expect(kinds.filter((k) => k === "submitted")).toHaveLength(1);
    expect(kinds.filter((k) => k === "lost")).toHaveLength(19);
    expect(await db.select().from(agentRuns).where(eq(agentRuns.taskId, holder.task.id))).toHaveLength(1);
  });
});
