// The review loop end to end through the router: a task is worked and submitted, the AI reviewer
// fails it with feedback, the task goes back to the queue as a revision, the scheduler leases it
// again, the worker's second dossier carries the reviewer's feedback (fenced as data), the second
// submission passes, and the task waits for its internal stamp (the default project requires one).
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reviews, tasks, workerLeases } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { type AnthropicFake, startAnthropicFake } from "../fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { toolTurn } from "../fakes/model-script.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { routeEvents } from "../lifecycle.ts";

const t = useTestDb();
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
let local: OpenAIUpstream;
beforeAll(async () => {
  [anthropic, hubspot, local] = await Promise.all([
    startAnthropicFake(),
    startFakeHubSpot(),
    startOpenAIUpstream(),
  ]);
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), hubspot?.close(), local?.close()]);
});

const FEEDBACK = "The label must be 'Renewal date', not 'renewal'.";

describe("lifecycle: work → review fails → revision → review passes → internal stamp", () => {
  it("revises once with the reviewer's feedback in the dossier, then waits for a person", async () => {
    await t.current.db.delete(workerLeases);
    // Triage (local model) answers first, then two reviews: fail, pass.
    const answers: unknown[] = [
      {
        worker: "crm-setup",
        priority: "P2",
        rubric: ["The property is labelled Renewal date"],
        internal_stamp_required: true,
        reason: "CRM property work",
      },
      {
        criteria: [{ criterion: "label", score: 3, pass: false, note: "wrong label" }],
        verdict: "fail",
        score: 3,
        feedback: FEEDBACK,
      },
      {
        criteria: [{ criterion: "label", score: 9, pass: true, note: "ok" }],
        verdict: "pass",
        score: 9,
        feedback: "Correct now.",
      },
    ];
    Object.defineProperty(local.behaviour, "json", { configurable: true, get: () => answers.shift() });
    anthropic.queue(
      toolTurn("submit", {
        markdown: "Created renewal_date labelled 'renewal'.",
        result: { label: "renewal" },
      }),
      toolTurn("submit", {
        markdown: "Relabelled renewal_date to 'Renewal date'.",
        result: { label: "Renewal date" },
      }),
    );
    const api = testApp(t.current.db, {
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
      BRIDGE_URL: local.url,
      BRIDGE_TOKEN: "bridge-token",
      LOCAL_MODEL: local.behaviour.model,
      FOREMAN_DRY_RUN: "true",
    });
    const res = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "Create the renewal date property" },
    });
    const { task } = (await res.json()) as { task: { id: string } };

    const runs = await routeEvents(functions, api.deps, api.events);
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    expect(runs.filter((r) => r.fn === "work")).toHaveLength(2);
    expect(runs.filter((r) => r.fn === "review")).toHaveLength(2);

    const [row] = await t.current.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row).toMatchObject({ status: "awaiting_internal_review", revisionCount: 1 });
    const verdicts = await t.current.db.select().from(reviews).where(eq(reviews.taskId, task.id));
    expect(verdicts.map((v) => [v.revision, v.verdict])).toEqual([
      [1, "fail"],
      [2, "pass"],
    ]);
    // The second run's dossier carried the reviewer's feedback.
    const secondRun = anthropic.requests.at(-1)?.body as { messages: { content: unknown }[] };
    expect(JSON.stringify(secondRun.messages[0]?.content)).toContain("Renewal date");
    expect(JSON.stringify(secondRun.messages[0]?.content)).toContain("reviewer feedback");
    expect(api.events.sent.filter((e) => e.name === "task/revision.requested")).toHaveLength(1);
  });
});
