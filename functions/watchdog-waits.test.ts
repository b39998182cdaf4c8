// Lost waits: a task waiting for a stamp whose review run is gone (its reminder never came) is found
// by the watchdog from the database alone, once, and `task/stamp.resume` makes the review function
// take the stage up again on its original clock: the overdue reminder goes out in the card's thread,
// no second card or link, and the run waits for the escalation. A decision that landed while no run
// waited is found before anything else; a resumed run that is lost too is resumed again, later.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { projects, reviewers, slackMessages, stampLinks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import type { Deps } from "../lib/deps.ts";
import { newId } from "../lib/ids.ts";
import { announceClient, announceInternal } from "../lib/review/human.ts";
import { applyStamp } from "../lib/stamps/apply.ts";
import { mintClientLink } from "../lib/stamps/links.ts";
import { appendEvents } from "../lib/tasks/event-log.ts";
import { transition } from "../lib/tasks/transition.ts";
import { storeDeliverable } from "../lib/work/deliverable.ts";
import { releaseRun } from "../lib/work/release.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_REVIEWER, FAKE_SLACK_TOKEN, useSlackFake } from "../test/fakes/slack.ts";
import { freshKey } from "../test/fixtures.ts";
import { runFunction, suspendedAt } from "../test/inngest.ts";
import { addWorker, clockAt, drained, leased, logOf, pass, watchdogEntries } from "../test/watchdog.ts";
import { review } from "./review.ts";

const t = useTestDb();
const slack = useSlackFake();

// A one-hour reminder, a two-hour escalation, a one-day deadline; the watchdog's grace is 15 minutes.
const env = () => ({
  FOREMAN_DRY_RUN: "false",
  SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
  SLACK_API_URL: slack.url,
  SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
  STAMP_LINK_KEY: "k".repeat(40),
  FOREMAN_PUBLIC_URL: "https://foreman.example.com",
  FOREMAN_STAMP_REMIND_HOURS: "1",
  FOREMAN_STAMP_ESCALATE_HOURS: "2",
  FOREMAN_STAMP_TIMEOUT_DAYS: "1",
});

async function project(db: AppDb): Promise<string> {
  const id = newId("proj");
  await db.insert(projects).values({ id, name: id, requiresInternalStamp: true });
  await db.insert(reviewers).values({
    id: newId("rvw"),
    projectId: id,
    kind: "human",
    stage: "internal",
    name: "Ana",
    slackUserId: FAKE_REVIEWER,
  });
  return id;
}

/**
 * A task that entered a human stage and was announced (the card, or the client's link) by a review
 * run the engine then lost: nothing of it is left but the rows.
 */
async function announced(
  db: AppDb,
  deps: Deps,
  stage: "internal" | "client",
  opts: { postLost?: boolean } = {},
) {
  const worker = await addWorker(db);
  const { taskId, runId } = await leased(db, worker, { projectId: await project(db) });
  const d = await storeDeliverable(db, {
    taskId,
    runId,
    markdown: "# Renewal date",
    result: {},
    key: freshKey(),
  });
  await releaseRun(db, { runId, status: "succeeded" });
  const moved = await transition(db, {
    taskId,
    to: stage === "internal" ? "awaiting_internal_review" : "awaiting_client_review",
    key: freshKey(),
    actor: "reviewer:local",
    reason: "the review passed",
  });
  const ref = { taskId, stage, deliverableHash: d.hash };
  if (stage === "internal") await announceInternal(deps, ref);
  let lostLinkId: string | undefined;
  // postLost: the lost run minted the client's link, then Slack failed for good before the hand-over.
  if (stage === "client" && opts.postLost) {
    const seed = `lost-run:${taskId}:${d.hash}`;
    lostLinkId = (
      await mintClientLink(db, deps.config, { taskId, deliverableHash: d.hash, now: new Date(), seed })
    ).tokenId;
  } else if (stage === "client")
    await announceClient(deps, ref, { seed: `lost-run:${taskId}:${d.hash}`, now: new Date() });
  await drained(db);
  return { taskId, hash: d.hash, enteredEventId: moved.eventId, enteredAt: moved.at, lostLinkId };
}

const cards = () => (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter((m) => !m.thread_ts && m.blocks);
const resumes = (sent: { name: string; data?: unknown; id?: string }[]) =>
  sent.filter((e) => e.name === "task/stamp.resume");

describe("watchdog: lost waits", () => {
  it("re-creates the wait once: the stage resumes on its clock, the overdue reminder goes out, the run waits for the escalation", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, env());
    const stage = await announced(db, deps, "internal");
    expect(cards()).toHaveLength(1);

    // Before the reminder is due (plus the grace) nothing says the wait is gone.
    clockAt(deps, 50);
    expect(await pass(deps)).toMatchObject({ waits: 0 });
    expect(events.sent).toEqual([]);

    // The reminder is overdue: the wait is re-created, once.
    const at = clockAt(deps, 76).toISOString();
    expect(await pass(deps)).toMatchObject({ waits: 1 });
    expect(await pass(deps)).toMatchObject({ waits: 0 });
    const [resume] = resumes(events.sent);
    expect(resumes(events.sent)).toHaveLength(1);
    expect(resume).toMatchObject({
      id: `watchdog:stamp-resume:${stage.taskId}:${stage.enteredEventId}:1`,
      data: {
        taskId: stage.taskId,
        stage: "internal",
        deliverableHash: stage.hash,
        startedAt: stage.enteredAt,
      },
    });
    expect(await watchdogEntries(db, stage.taskId)).toMatchObject([
      {
        kind: "watchdog",
        payload: { action: "wait_recreated", stage: "internal", missing: "reminder", attempt: 1, at },
      },
    ]);

    // The review function takes the stage up again: the reminder in the card's thread, no new card.
    const res = await runFunction(review, {
      deps,
      event: { name: "task/stamp.resume", data: resume?.data as Record<string, unknown> },
      runId: `rv_resume_${stage.taskId}`,
    });
    expect(suspendedAt(res.error)).toBe("internal:wait:escalate:0");
    expect(cards()).toHaveLength(1);
    const [card] = await db.select().from(slackMessages).where(eq(slackMessages.taskId, stage.taskId));
    const thread = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter((m) => m.thread_ts === card?.ts);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.text).toContain(`<@${FAKE_REVIEWER}>`);
    expect((await logOf(db, stage.taskId)).filter((e) => e.kind === "reminder")).toHaveLength(1);

    // Past the resume's grace, the reminder is what says a run is waiting: nothing to do.
    clockAt(deps, 95);
    expect(await pass(deps)).toMatchObject({ waits: 0 });

    // That run is lost too (the escalation is overdue): resumed again, under a new id.
    clockAt(deps, 136);
    expect(await pass(deps)).toMatchObject({ waits: 1 });
    expect(resumes(events.sent).map((e) => (e as { id?: string }).id)).toEqual([
      `watchdog:stamp-resume:${stage.taskId}:${stage.enteredEventId}:1`,
      `watchdog:stamp-resume:${stage.taskId}:${stage.enteredEventId}:2`,
    ]);
    expect((await watchdogEntries(db, stage.taskId)).at(-1)).toMatchObject({
      payload: { missing: "escalation", attempt: 2 },
    });
  });

  it("finds a decision that landed while no run waited before anything else, then goes on to the client stage", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, env());
    const stage = await announced(db, deps, "internal");
    await applyStamp(db, {
      taskId: stage.taskId,
      stage: "internal",
      decision: "approve",
      deliverableHash: stage.hash,
      channel: "api",
      actor: "ana@example.com",
      sourceRef: "approve-1",
    });
    await drained(db);

    clockAt(deps, 76);
    const res = await runFunction(review, {
      deps,
      event: {
        name: "task/stamp.resume",
        data: {
          taskId: stage.taskId,
          stage: "internal",
          deliverableHash: stage.hash,
          startedAt: stage.enteredAt,
        },
      },
      runId: `rv_resume_${stage.taskId}`,
    });
    expect(suspendedAt(res.error)).toBe("client:wait:remind:0");
    // No reminder for a decided stage; the card shows the decision; the client's link is handed over.
    expect((await logOf(db, stage.taskId)).filter((e) => e.kind === "reminder")).toEqual([]);
    const update = slack.callsTo("chat.update")[0]?.body as { blocks: string } | undefined;
    expect(update?.blocks).toContain("Approved by ana@example.com");
    expect(await db.select().from(stampLinks).where(eq(stampLinks.taskId, stage.taskId))).toHaveLength(1);
  });

  it("resumes a client stage without minting a second link", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, env());
    const stage = await announced(db, deps, "client");
    expect(await db.select().from(stampLinks).where(eq(stampLinks.taskId, stage.taskId))).toHaveLength(1);

    clockAt(deps, 76);
    await pass(deps);
    const [resume] = resumes(events.sent).filter(
      (e) => (e as { data?: { taskId?: string } }).data?.taskId === stage.taskId,
    );
    expect(resume).toMatchObject({ data: { stage: "client", startedAt: stage.enteredAt } });
    const res = await runFunction(review, {
      deps,
      event: { name: "task/stamp.resume", data: resume?.data as Record<string, unknown> },
      runId: `rv_resume_${stage.taskId}`,
    });
    expect(suspendedAt(res.error)).toBe("client:wait:escalate:0");
    expect(await db.select().from(stampLinks).where(eq(stampLinks.taskId, stage.taskId))).toHaveLength(1);
    expect(
      (await logOf(db, stage.taskId)).filter((e) => e.kind === "reminder").map((e) => e.payload),
    ).toMatchObject([{ stage: "client" }]);
  });

  it("hands the client a new link when the lost run minted one but its Slack post never went out", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, env());
    const stage = await announced(db, deps, "client", { postLost: true });
    clockAt(deps, 76);
    await pass(deps);
    const [resume] = resumes(events.sent).filter(
      (e) => (e as { data?: { taskId?: string } }).data?.taskId === stage.taskId,
    );
    const posted = () =>
      (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter(
        (m) =>
          typeof m.text === "string" && m.text.includes("Client review for") && m.text.includes("/stamp/"),
      ).length;
    const before = posted();
    const res = await runFunction(review, {
      deps,
      event: { name: "task/stamp.resume", data: resume?.data as Record<string, unknown> },
      runId: `rv_resume_${stage.taskId}`,
    });
    expect(suspendedAt(res.error)).toMatch(/^client:wait:/);
    const links = await db.select().from(stampLinks).where(eq(stampLinks.taskId, stage.taskId));
    expect(links).toHaveLength(2);
    expect(posted()).toBe(before + 1);
    const handed = (await logOf(db, stage.taskId)).filter(
      (e) => e.kind === "note" && (e.payload as { linkId?: string }).linkId,
    );
    const fresh = links.find((l) => l.tokenId !== stage.lostLinkId)?.tokenId;
    expect(handed.map((e) => (e.payload as { linkId: string }).linkId)).toEqual([fresh]);
  });

  it("counts a link handed over before link ids were recorded (the note names it in its text)", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, env());
    const stage = await announced(db, deps, "client", { postLost: true });
    await appendEvents(db, [
      {
        taskId: stage.taskId,
        actor: "foreman",
        kind: "note",
        payload: {
          text: `Client review link issued (id ${stage.lostLinkId}, single use, valid until 2026-12-16).`,
        },
      },
    ]);
    clockAt(deps, 76);
    await pass(deps);
    const [resume] = resumes(events.sent).filter(
      (e) => (e as { data?: { taskId?: string } }).data?.taskId === stage.taskId,
    );
    await runFunction(review, {
      deps,
      event: { name: "task/stamp.resume", data: resume?.data as Record<string, unknown> },
      runId: `rv_resume_${stage.taskId}`,
    });
    expect(await db.select().from(stampLinks).where(eq(stampLinks.taskId, stage.taskId))).toHaveLength(1);
  });
});
