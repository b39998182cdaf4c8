// planSync decides from rows alone: in step when the ticket shows the task's stage and last event;
// otherwise a write to the known ticket, the task's own HubSpot ticket, the ticket holding its
// task_id after a lost create, or a new ticket; refused versions wait for the next move; dry-run
// plans a WOULD_DO once per task event and never touches the live columns' answer.
import { describe, expect, it } from "vitest";
import type { SetupMapping } from "../hubspot/setup-mapping.ts";
import { taskPageUrl } from "../links.ts";
import { TASK_STATES } from "../states.ts";
import { planSync, type SyncLink, type SyncTask, ticketProperties } from "./plan.ts";

const mapping: SetupMapping = {
  pipelineId: "p1",
  stageIds: Object.fromEntries(TASK_STATES.map((s, i) => [s, `s${i}`])) as SetupMapping["stageIds"],
  propertyGroup: "foreman",
  properties: ["task_id", "task_url", "last_event_id", "revision_count", "worker"],
};
const task = (over: Partial<SyncTask> = {}): SyncTask => ({
  id: "task_1",
  status: "working",
  version: 3,
  lastEventId: 30,
  source: "api",
  sourceRef: null,
  dryRun: false,
  title: "Add a renewal date",
  revisionCount: 0,
  workerId: "crm-setup",
  ...over,
});
const link = (over: Partial<SyncLink> = {}): SyncLink => ({
  ticketId: "9001",
  pushedStageId: "s2",
  lastSyncedEventId: 30,
  createAttempted: false,
  refusedVersion: null,
  wouldDoEventId: null,
  ...over,
});
const live = { dryRun: false, publicUrl: "https://foreman.example/" };

describe("planSync", () => {
  it("is in step when the stage and last event id are the ones last pushed", () => {
    expect(planSync(task(), link(), mapping, live)).toEqual({ kind: "in_step" });
  });

  it("writes the known ticket when the stage or only the last event id differs", () => {
    const moved = planSync(
      task({ status: "awaiting_client_review", lastEventId: 31 }),
      link(),
      mapping,
      live,
    );
    expect(moved).toEqual({
      kind: "write",
      write: {
        via: "id",
        ticketId: "9001",
        properties: {
          hs_pipeline: "p1",
          hs_pipeline_stage: "s4",
          task_id: "task_1",
          last_event_id: "31",
          revision_count: "0",
          task_url: "https://foreman.example/board/tasks/task_1",
          worker: "crm-setup",
        },
      },
    });
    const noted = planSync(task({ lastEventId: 32 }), link(), mapping, live);
    expect(noted).toMatchObject({ kind: "write", write: { via: "id", properties: { last_event_id: "32" } } });
  });

  it("first writes a HubSpot-sourced task to the ticket it came from", () => {
    const plan = planSync(task({ source: "hubspot", sourceRef: "777" }), undefined, mapping, live);
    expect(plan).toMatchObject({ kind: "write", write: { via: "id", ticketId: "777" } });
  });

  it("leaves alone a HubSpot ticket whose task ended before its first sync (withdrawn at intake)", () => {
    const withdrawn = task({ source: "hubspot", sourceRef: "777", status: "cancelled" });
    expect(planSync(withdrawn, undefined, mapping, live)).toMatchObject({ kind: "not_ours" });
    // Once the ticket is foreman's, its end is synced like any other move.
    expect(planSync(withdrawn, link({ ticketId: "777" }), mapping, live)).toMatchObject({ kind: "write" });
    // An API task cancelled in intake still gets its (already created) ticket closed.
    expect(planSync(task({ status: "cancelled" }), undefined, mapping, live)).toMatchObject({
      kind: "write",
    });
  });

  it("creates a ticket (with the title as subject) for a task that did not come from HubSpot", () => {
    const plan = planSync(task({ title: "x".repeat(400) }), undefined, mapping, live);
    expect(plan).toMatchObject({ kind: "write", write: { via: "create" } });
    if (plan.kind !== "write") throw new Error("no write");
    expect(plan.write.properties.subject).toHaveLength(250);
    expect(plan.write.properties.task_id).toBe("task_1");
  });

  it("after a create whose answer may be lost, addresses the ticket by task_id instead of creating twice", () => {
    const plan = planSync(task(), link({ ticketId: null, createAttempted: true }), mapping, live);
    expect(plan).toMatchObject({ kind: "write", write: { via: "task_id" } });
  });

  it("does not retry a version HubSpot refused, and does once the task moves again", () => {
    const stale = link({ pushedStageId: "s1", refusedVersion: 3 });
    expect(planSync(task(), stale, mapping, live)).toEqual({ kind: "refused" });
    expect(planSync(task({ version: 4, lastEventId: 40 }), stale, mapping, live).kind).toBe("write");
  });

  it("writes no task_url without FOREMAN_PUBLIC_URL, and no worker when none is assigned", () => {
    const props = ticketProperties(task({ workerId: null }), mapping, undefined);
    expect(props).not.toHaveProperty("task_url");
    expect(props).not.toHaveProperty("worker");
    expect(taskPageUrl("https://f.example//", "task_a b")).toBe("https://f.example/board/tasks/task_a%20b");
  });

  it("in dry-run plans a WOULD_DO once per task event, whatever the live columns say", () => {
    const dry = { ...live, dryRun: true };
    expect(planSync(task(), undefined, mapping, dry)).toMatchObject({
      kind: "would_do",
      write: { via: "create" },
    });
    expect(planSync(task(), link({ ticketId: null, wouldDoEventId: 30 }), mapping, dry)).toEqual({
      kind: "in_step",
    });
    // A later event: the would-be ticket is addressed by task_id (its id was never known).
    expect(
      planSync(task({ lastEventId: 31 }), link({ ticketId: null, wouldDoEventId: 30 }), mapping, dry),
    ).toMatchObject({ kind: "would_do", write: { via: "task_id" } });
    // The task's own flag counts too, and an in-step live link does not silence a dry-run task.
    expect(planSync(task({ dryRun: true }), link(), mapping, live)).toMatchObject({ kind: "would_do" });
  });
});
