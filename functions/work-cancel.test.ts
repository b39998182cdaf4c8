// Cancelling a task while its work run is in the middle of a model turn, with the whole chain over
// HTTP: the app served on a port, the test Inngest engine (test/fakes/inngest-dev.ts) driving its
// functions and taking the events they publish. The turn in flight finishes, the run stops at that
// step (work's cancelOn; the engine makes no further request), nothing after it runs — no tool call,
// no next model turn, no deliverable — and release-on-cancel frees the slot and tells the scheduler.
import { type ServerType, serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentRuns, deliverables, tasks, workerLeases } from "../db/schema/index.ts";
import { useTestDb } from "../test/db.ts";
import { TEST_TOKEN, testApp } from "../test/deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../test/fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { type InngestDev, startInngestDev } from "../test/fakes/inngest-dev.ts";
import { toolTurn } from "../test/fakes/model-script.ts";
import { leasedTask } from "../test/fixtures.ts";
import { inngestSender } from "./client.ts";

const t = useTestDb();
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
let engine: InngestDev;
let server: ServerType | undefined;
let base = "";

const env = {
  ANTHROPIC_API_KEY: "",
  ANTHROPIC_BASE_URL: "",
  HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
  HUBSPOT_BASE_URL: "",
  FOREMAN_DRY_RUN: "true",
};

beforeAll(async () => {
  [anthropic, hubspot, engine] = await Promise.all([
    startAnthropicFake(),
    startFakeHubSpot(),
    startInngestDev(),
  ]);
  Object.assign(env, {
    ANTHROPIC_API_KEY: anthropic.apiKey,
    ANTHROPIC_BASE_URL: anthropic.url,
    HUBSPOT_BASE_URL: hubspot.url,
    // The serve handler and the event sender find the engine the way a deployment does: by config.
    INNGEST_DEV: engine.url,
    INNGEST_BASE_URL: engine.url,
  });
  const { app } = testApp(t.current.db, env, { events: (config) => inngestSender(config) });
  const started = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  server = started;
  await new Promise<void>((resolve) => started.once("listening", resolve));
  const address = started.address();
  base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  await engine.register(`${base}/api/inngest`);
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await Promise.all([anthropic?.close(), hubspot?.close(), engine?.close()]);
});

/**
 * Scripts turn 1 (a CRM read) and holds turn 2 (which answers `submit`) open until `release`:
 * `inTurn2` settles once turn 2's request has arrived.
 */
function holdTurn2() {
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let turn2Started = () => {};
  const inTurn2 = new Promise<void>((resolve) => {
    turn2Started = resolve;
  });
  anthropic.script.push(toolTurn("hubspot_get_properties", { objectType: "tickets" }));
  const submit = toolTurn("submit", { markdown: "done", result: {} });
  const next = anthropic.script.next.bind(anthropic.script);
  anthropic.script.next = () => {
    if (anthropic.requests.length === 2) {
      turn2Started();
      return { ...submit, hold: () => held };
    }
    return next();
  };
  return { inTurn2, release, restore: () => (anthropic.script.next = next) };
}

describe("cancelling a task mid-run", () => {
  it("stops the run at the step in flight and frees its slot", async () => {
    const db = t.current.db;
    const { task, runId, event } = await leasedTask(db, { title: "Add the renewal date property" });

    // Turn 1 reads the CRM; turn 2 is held open until the cancel has landed, then answers `submit`.
    const { inTurn2, release } = holdTurn2();

    const dispatched = await fetch(`${engine.url}/e/test`, { method: "POST", body: JSON.stringify(event) });
    expect(dispatched.status).toBe(200);
    await inTurn2;

    const res = await fetch(`${base}/api/tasks/${task.id}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ reason: "the client withdrew it" }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    // The cancel reached the engine (through the outbox) while turn 2 was still in flight.
    await expect.poll(() => engine.events.some((e) => e.name === "task/cancel.requested")).toBe(true);
    release();
    await engine.settled();

    const work = engine.runs.filter((r) => r.fn === "foreman-work");
    expect(work.map((r) => r.status)).toEqual(["cancelled"]);
    // The turn that was in flight is kept; the submit it asked for never ran, and no third turn.
    expect(Object.keys(work[0]?.steps ?? {}).length).toBeGreaterThan(0);
    expect(anthropic.requests).toHaveLength(2);
    expect(await db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toEqual([]);
    expect(engine.events.filter((e) => e.name === "task/work.submitted")).toEqual([]);

    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe("cancelled");
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toEqual([]);
    expect((await db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe("cancelled");
    const released = engine.runs.filter((r) => r.fn === "foreman-release-on-cancel");
    expect(released.map((r) => [r.status, r.result])).toEqual([["completed", { released: true }]]);
    expect(engine.events.filter((e) => e.name === "worker/released")).toHaveLength(1);
    expect(engine.events.filter((e) => e.name === "inngest/function.cancelled")).toHaveLength(1);
    expect(engine.problems).toEqual([]);
    expect(engine.runs.filter((r) => r.status === "failed")).toEqual([]);
  });

  it("a cancel aimed at an earlier run of the task (the watchdog's) never stops the run working it now; one aimed at this run does", async () => {
    const db = t.current.db;
    for (const target of ["earlier", "this"] as const) {
      const { task, runId, event } = await leasedTask(db, { title: `Cancel aimed at ${target} run` });
      anthropic.requests.length = 0;
      anthropic.script.clear();
      const { inTurn2, release, restore } = holdTurn2();
      await fetch(`${engine.url}/e/test`, { method: "POST", body: JSON.stringify(event) });
      await inTurn2;
      const cancel = {
        name: "task/run.cancel.requested",
        data: {
          taskId: task.id,
          runId: target === "this" ? runId : `run_before_${task.id.slice(-8)}`,
          reason: "watchdog: stuck",
          actor: "fn:watchdog",
        },
      };
      await fetch(`${engine.url}/e/test`, { method: "POST", body: JSON.stringify(cancel) });
      release();
      await engine.settled();
      restore();

      const run = engine.runs.filter((r) => r.fn === "foreman-work" && r.event.data.runId === runId);
      const stored = await db.select().from(deliverables).where(eq(deliverables.taskId, task.id));
      if (target === "earlier") {
        expect(run.map((r) => r.status)).toEqual(["completed"]);
        expect(stored).toHaveLength(1);
      } else {
        expect(run.map((r) => r.status)).toEqual(["cancelled"]);
        expect(stored).toEqual([]);
      }
      // Either way the run's slot is free afterwards (its own finally, or release-on-cancel).
      expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toEqual([]);
    }
    expect(engine.problems).toEqual([]);
  });
});
