// Storing a submission and ending a run: one statement each, idempotent on the step's key / the run,
// refused once the run has lost the task's lease.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { agentRuns, deliverables, outbox, taskEvents, tasks, workerLeases } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { useTestDb } from "../../test/db.ts";
import { leasedTask, submittedDeliverable } from "../../test/fixtures.ts";
import { loadWorkContext } from "./context.ts";
import { storeDeliverable } from "./deliverable.ts";
import { releaseRun } from "./release.ts";

const t = useTestDb();

async function leased(db: AppDb) {
  await db.delete(workerLeases);
  return leasedTask(db);
}

describe("storeDeliverable", () => {
  it("stores version 1, points the task at its hash, and owes task/work.submitted — once per key", async () => {
    const db = t.current.db;
    const { task, runId } = await leased(db);
    const input = {
      taskId: task.id,
      runId,
      markdown: "# Done\nPipeline created.",
      result: { stages: 4 },
      key: `${runId}:submit`,
    };
    const first = await storeDeliverable(db, input);
    const again = await storeDeliverable(db, input);
    expect(again).toEqual(first);
    expect(first.version).toBe(1);
    expect(await db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toHaveLength(1);
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.deliverableHash).toBe(first.hash);
    const events = await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(events.filter((e) => e.kind === "deliverable")).toHaveLength(1);
    const [row] = await db
      .select()
      .from(outbox)
      .where(eq(outbox.eventId, `work-submitted:${first.id}`));
    expect(row?.data).toEqual({
      taskId: task.id,
      runId,
      deliverableId: first.id,
      deliverableHash: first.hash,
    });
    const revised = await storeDeliverable(db, {
      ...input,
      markdown: "# Done, revised",
      key: `${runId}:submit-2`,
    });
    expect(revised.version).toBe(2);
  });

  it("refuses a run that no longer holds the lease, storing nothing", async () => {
    const db = t.current.db;
    const { task, runId } = await leased(db);
    await releaseRun(db, { runId, status: "cancelled" });
    await expect(
      storeDeliverable(db, { taskId: task.id, runId, markdown: "late", result: {}, key: "late" }),
    ).rejects.toMatchObject({ code: "CONFLICT" });
    expect(await db.select().from(deliverables).where(eq(deliverables.taskId, task.id))).toHaveLength(0);
  });
});

describe("releaseRun", () => {
  it("frees the slot, ends the run, clears the task's lease and owes worker/released once", async () => {
    const db = t.current.db;
    const { task, runId } = await leased(db);
    const first = await releaseRun(db, { runId, status: "succeeded" });
    expect(first.released).toBe(true);
    expect(first.outbox).toEqual([
      {
        eventId: `worker-released:${runId}`,
        name: "worker/released",
        data: { workerId: "crm-setup", taskId: task.id },
      },
    ]);
    expect(await releaseRun(db, { runId, status: "failed" })).toEqual({ released: false, outbox: [] });
    expect((await db.select().from(agentRuns).where(eq(agentRuns.id, runId)))[0]?.status).toBe("succeeded");
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]).toMatchObject({
      currentRunId: null,
      leaseExpiresAt: null,
    });
    expect(await db.select().from(workerLeases).where(eq(workerLeases.runId, runId))).toHaveLength(0);
  });
});

describe("loadWorkContext: a revision's dossier", () => {
  it("shows the text of the version that was reviewed, not only its id and hash", async () => {
    const db = t.current.db;
    await db.delete(workerLeases);
    const s = await submittedDeliverable(db, {
      markdown: "# Renewal date\n\nSection 2: UNIQUE-TEXT-42 — created as a single-line text property.",
    });
    const ctx = await loadWorkContext(db, { taskId: s.taskId, runId: s.runId, workerId: "crm-setup" });
    expect(ctx?.dossier).toContain("Version 1 handed in");
    expect(ctx?.dossier).toContain("Section 2: UNIQUE-TEXT-42");
    expect(ctx?.dossier).not.toContain("the rest is not shown");
  });

  it("says the rest is not shown only when the text was cut (its characters, not UTF-16 units, counted)", async () => {
    const db = t.current.db;
    for (const [markdown, cut] of [
      ["x".repeat(6_000), false], // exactly the limit: shown whole
      ["😀".repeat(3_500), false], // 7,000 UTF-16 units, 3,500 characters: shown whole
      [`${"y".repeat(6_000)}END-OF-TEXT`, true],
    ] as const) {
      await db.delete(workerLeases);
      const s = await submittedDeliverable(db, { markdown });
      const ctx = await loadWorkContext(db, { taskId: s.taskId, runId: s.runId, workerId: "crm-setup" });
      expect(ctx?.dossier.includes("the rest is not shown"), markdown.slice(0, 10)).toBe(cut);
    }
  });
});
