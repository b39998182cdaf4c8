// The review loop end to end through the router: a task is worked and submitted, the AI reviewer
// fails it with feedback, the task goes back to the queue as a revision, the scheduler leases it
// again, the worker's second dossier carries the reviewer's feedback (fenced as data), the second
// submission passes, and the task waits for its internal stamp (the default project requires one).
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { reviews, tasks, workerLeases } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { routeEvents } from "../lifecycle.ts";
import { modelEnv, scriptFailThenPass, useModelFakes } from "./script.ts";

const t = useTestDb();
const fakes = useModelFakes();

describe("lifecycle: work → review fails → revision → review passes → internal stamp", () => {
  it("revises once with the reviewer's feedback in the dossier, then waits for a person", async () => {
    await t.current.db.delete(workerLeases);
    // Triage (local model) answers first, then two reviews: fail, pass.
    scriptFailThenPass(fakes);
    const api = testApp(t.current.db, { ...modelEnv(fakes), FOREMAN_DRY_RUN: "true" });
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
    const secondRun = fakes.anthropic.requests.at(-1)?.body as { messages: { content: unknown }[] };
    expect(JSON.stringify(secondRun.messages[0]?.content)).toContain("Renewal date");
    expect(JSON.stringify(secondRun.messages[0]?.content)).toContain("reviewer feedback");
    expect(api.events.sent.filter((e) => e.name === "task/revision.requested")).toHaveLength(1);
  });
});
