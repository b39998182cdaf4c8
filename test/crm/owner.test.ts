// "Client owner → done = client stamp", against the HubSpot and Slack fakes through the engine
// simulation: the project's client owner (a client-stage human reviewer with that HubSpot user id,
// listed for the project or for every project) moving the ticket to Done approves the deliverable;
// anyone else — another HubSpot user, the owner of another project, a workflow that names no user —
// is refused like a forbidden move: a refusal event naming the mover, a note on the ticket, a message
// in the task's Slack thread, and the ticket put back to the task's stage. A move the state machine
// forbids is told in that thread the same way, once however often the engine retries the step.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  crmLinks,
  projects,
  reviewers,
  slackMessages,
  stamps,
  taskEvents,
  tasks,
} from "../../db/schema/index.ts";
import { newId } from "../../lib/ids.ts";
import { notifyRefusedMove } from "../../lib/notify/crm.ts";
import { useTestDb } from "../db.ts";
import type { FakeHubSpot } from "../fakes/hubspot.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_TOKEN, type FakeSlack, startSlackFake } from "../fakes/slack.ts";
import { type CrmBed, crmBed, startCrmFake } from "./harness.ts";
import type { EngineSim } from "./sim.ts";

const t = useTestDb();
let crm: { fake: FakeHubSpot; use(sim: EngineSim): void };
let slack: FakeSlack;
beforeAll(async () => {
  [crm, slack] = await Promise.all([startCrmFake(), startSlackFake()]);
});
afterAll(async () => {
  await Promise.all([crm?.fake.close(), slack?.close()]);
});
beforeEach(() => {
  slack.calls.length = 0;
  slack.messages.clear();
});

const OWNER = "7200001";
let seq = 0;

async function bed() {
  return crmBed(t.current.db, crm, {
    env: {
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
    },
  });
}

/** A project with a client owner: HubSpot user `owner`, listed for it (or for every project). */
async function projectOwnedBy(owner: string | null, opts: { global?: boolean } = {}) {
  const id = newId("proj");
  await t.current.db.insert(projects).values({ id, name: id });
  if (owner) {
    await t.current.db.insert(reviewers).values({
      id: newId("rvw"),
      projectId: opts.global ? null : id,
      kind: "human",
      stage: "client",
      name: `Client owner ${owner}`,
      hubspotUserId: owner,
    });
  }
  return id;
}

/** A synced task of `project` awaiting the client's review, with its ticket. */
async function awaitingClient(b: CrmBed, project: string) {
  const taskId = await b.submit({ project, title: `Owner check ${++seq}` });
  await b.sim.runUntilIdle();
  for (const to of ["ready", "working"] as const) {
    await b.move(taskId, to);
    await b.sim.runUntilIdle();
  }
  await t.current.db
    .update(tasks)
    .set({ deliverableHash: `sha256:v${seq}` })
    .where(eq(tasks.id, taskId));
  await b.move(taskId, "awaiting_client_review");
  await b.sim.runUntilIdle();
  const link = (await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, taskId)))[0];
  b.sim.now += 60_000; // a person looks a minute later: not our echo
  return { taskId, ticketId: link?.ticketId as string };
}

/** Someone moves the ticket to Done in HubSpot, and the webhook says who (or names no user). */
function movedToDone(b: CrmBed, ticketId: string, mover: { sourceId?: string; changeSource?: string }) {
  const ticket = b.fake.tickets.get(ticketId);
  if (ticket) ticket.properties.hs_pipeline_stage = b.mapping.stageIds.done;
  b.inbound(ticketId, b.mapping.stageIds.done, b.sim.now, undefined, mover);
}

const byUser = (id: string) => ({ sourceId: `userId:${id}`, changeSource: "CRM_UI" });
const statusOf = async (id: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
const eventsOf = async (id: string) =>
  t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);

describe("crm-inbound: the client owner's move to Done", () => {
  it("is the client stamp when the owner moves it — listed for the project, or for every project", async () => {
    for (const global of [false, true]) {
      const owner = global ? `${OWNER}9` : OWNER;
      const b = await bed();
      const { taskId, ticketId } = await awaitingClient(b, await projectOwnedBy(owner, { global }));
      movedToDone(b, ticketId, byUser(owner));
      await b.sim.runUntilIdle();
      expect(b.sim.of("crm-inbound").at(-1)?.result).toEqual({
        outcome: "applied",
        command: "client_stamp",
        state: "done",
      });
      expect(await statusOf(taskId)).toBe("done");
      const [stamp] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, taskId));
      const [listed] = await t.current.db.select().from(reviewers).where(eq(reviewers.hubspotUserId, owner));
      expect(stamp).toMatchObject({
        stage: "client",
        decision: "approve",
        channel: "crm",
        reviewerId: listed?.id,
      });
      expect((await eventsOf(taskId)).map((e) => e.kind)).not.toContain("refusal");
    }
    expect(slack.callsTo("chat.postMessage")).toEqual([]);
  });

  it("is refused from anyone else: a refusal naming the mover, a ticket note, a Slack message, the stage put back", async () => {
    const cases = [
      {
        who: "another HubSpot user",
        mover: byUser("7299999"),
        owner: OWNER,
        says: "HubSpot user 7299999 is not listed",
        label: "HubSpot user 7299999",
      },
      {
        who: "another project's owner",
        mover: byUser("7288888"),
        owner: OWNER,
        says: "HubSpot user 7288888 is not listed",
        label: "HubSpot user 7288888",
      },
      {
        who: "a workflow",
        mover: { sourceId: "enrollmentId:55", changeSource: "AUTOMATION_PLATFORM" },
        owner: OWNER,
        says: "HubSpot names no user for this move (change source AUTOMATION_PLATFORM)",
        label: "AUTOMATION_PLATFORM enrollmentId:55 (no HubSpot user)",
      },
      {
        who: "anyone, when no owner is listed",
        mover: byUser(OWNER),
        owner: null,
        says: `HubSpot user ${OWNER} is not listed`,
        label: `HubSpot user ${OWNER}`,
      },
    ];
    await projectOwnedBy("7288888"); // the owner of some other project
    for (const c of cases) {
      const b = await bed();
      slack.messages.clear();
      const { taskId, ticketId } = await awaitingClient(b, await projectOwnedBy(c.owner));
      movedToDone(b, ticketId, c.mover);
      await b.sim.runUntilIdle();

      expect(b.sim.of("crm-inbound").at(-1)?.result, c.who).toMatchObject({
        outcome: "refused",
        noted: "ticket",
      });
      expect(await statusOf(taskId), c.who).toBe("awaiting_client_review");
      expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, taskId))).toEqual([]);
      const refusal = (await eventsOf(taskId)).find((e) => e.kind === "refusal");
      expect(refusal?.payload, c.who).toMatchObject({
        what: "moving the HubSpot ticket from awaiting_client_review to done",
        reason: expect.stringContaining(c.says),
        ticketId,
        mover: c.label,
      });
      // The ticket's note says why.
      const notes = [...b.fake.notes.values()].filter((n) => n.associations.some((a) => a.toId === ticketId));
      expect(notes, c.who).toHaveLength(1);
      expect(notes[0]?.properties.hs_note_body).toContain(c.says);
      // The task's Slack thread says so too.
      const messages = slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
      expect(messages, c.who).toHaveLength(1);
      expect(messages[0]?.text).toContain("HubSpot move refused (awaiting_client_review → done)");
      expect(JSON.stringify(messages[0]?.blocks)).toContain(ticketId);
      // And the ticket is put back to the task's stage.
      expect(b.fake.tickets.get(ticketId)?.properties.hs_pipeline_stage, c.who).toBe(
        b.mapping.stageIds.awaiting_client_review,
      );
      expect(b.sim.runs.filter((r) => r.failed)).toEqual([]);
    }
  });

  it("takes a move back to Ready as the client's change request only from the owner", async () => {
    const toReady = (b: CrmBed, ticketId: string, mover: { sourceId?: string; changeSource?: string }) => {
      const ticket = b.fake.tickets.get(ticketId);
      if (ticket) ticket.properties.hs_pipeline_stage = b.mapping.stageIds.ready;
      b.inbound(ticketId, b.mapping.stageIds.ready, b.sim.now, undefined, mover);
    };
    const b = await bed();
    slack.messages.clear();
    const project = await projectOwnedBy(OWNER);
    const refused = await awaitingClient(b, project);
    toReady(b, refused.ticketId, byUser("7299999"));
    await b.sim.runUntilIdle();
    expect(b.sim.of("crm-inbound").at(-1)?.result).toMatchObject({ outcome: "refused" });
    expect(await statusOf(refused.taskId)).toBe("awaiting_client_review");
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, refused.taskId))).toEqual([]);
    const refusal = (await eventsOf(refused.taskId)).find((e) => e.kind === "refusal");
    expect(refusal?.payload).toMatchObject({
      reason: expect.stringContaining(
        "only the client owner's move back to Ready is the client's change request, and HubSpot user 7299999 is not listed",
      ),
    });
    expect(b.fake.tickets.get(refused.ticketId)?.properties.hs_pipeline_stage).toBe(
      b.mapping.stageIds.awaiting_client_review,
    );

    const taken = await awaitingClient(b, project);
    toReady(b, taken.ticketId, byUser(OWNER));
    await b.sim.runUntilIdle();
    expect(await statusOf(taken.taskId)).toBe("ready");
    const [stamp] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, taken.taskId));
    expect(stamp).toMatchObject({ stage: "client", decision: "request_changes", channel: "crm" });
    expect(stamp?.reviewerId).toBeTruthy();
  });

  it("a move the state machine forbids is told in the task's thread too — under its review card — once", async () => {
    const b = await bed();
    const taskId = await b.submit({ project: await projectOwnedBy(OWNER), title: `Forbidden ${++seq}` });
    await b.sim.runUntilIdle();
    await b.move(taskId, "ready");
    await b.move(taskId, "working");
    await b.sim.runUntilIdle();
    const link = (await t.current.db.select().from(crmLinks).where(eq(crmLinks.taskId, taskId)))[0];
    const ticketId = link?.ticketId as string;
    // The task had a review card once: the notice belongs under it.
    const card = await b.deps.slack?.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "review card" });
    await t.current.db.insert(slackMessages).values({
      key: `card:internal:${taskId}:${"c".repeat(64)}`,
      taskId,
      kind: "card",
      channel: FAKE_REVIEW_CHANNEL,
      ts: card?.ts as string,
    });
    b.sim.now += 60_000;
    movedToDone(b, ticketId, byUser(OWNER)); // even the owner cannot finish a task that is working
    await b.sim.runUntilIdle();
    expect(b.sim.of("crm-inbound").at(-1)?.result).toMatchObject({ outcome: "refused", noted: "ticket" });
    const replies = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter((m) => m.thread_ts === card?.ts);
    expect(replies.map((m) => m.text)).toEqual([
      expect.stringContaining("HubSpot move refused (working → done)"),
    ]);
    expect(JSON.stringify(replies[0]?.blocks)).toContain("only the client's approval finishes a task");

    // The engine retrying the step (same stage-change event) posts nothing more: the notice is found by its key.
    const audit = (await eventsOf(taskId)).find((e) => e.kind === "refusal")?.payload as { eventId?: string };
    expect(audit?.eventId).toMatch(/^hubspot:/);
    const refused = {
      taskId,
      ticketId,
      from: "working" as const,
      to: "done" as const,
      reason: "only the client's approval finishes a task",
      eventId: String(audit?.eventId),
    };
    const posted = slack.callsTo("chat.postMessage").length;
    expect(await notifyRefusedMove(b.deps, refused)).toMatchObject({ posted: "already" });
    expect(slack.callsTo("chat.postMessage")).toHaveLength(posted);
  });
});
