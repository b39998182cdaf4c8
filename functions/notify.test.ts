// notify against the Slack fake and a real database: messages only for the states that need a person
// (failed_needs_triage with its class, reason and Retry button; blocked_external with its reason), the
// scheduler pausing and budget warnings; none for routine transitions — the triggers do not even start
// a run, and a routine event delivered anyway says nothing; one thread per task (two notices land in
// one thread, under the review card when the task has one); a retried step does not post twice; a late
// event for a task that moved on is dropped; dry-run posts nothing and records the exact request;
// without Slack configured the task's log says so.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { settings, slackMessages, taskEvents, tasks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { raiseBudgetWarnings } from "../lib/budget/warn.ts";
import type { Deps } from "../lib/deps.ts";
import { publish } from "../lib/outbox/publish.ts";
import { pauseScheduler } from "../lib/scheduler/pause.ts";
import type { TaskState } from "../lib/states.ts";
import { transition } from "../lib/tasks/transition.ts";
import { useTestDb } from "../test/db.ts";
import { type RecordingSender, testDeps } from "../test/deps.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_TOKEN, useSlackFake } from "../test/fakes/slack.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { routeEvents } from "../test/lifecycle.ts";
import { notify } from "./notify.ts";

const t = useTestDb();
const slack = useSlackFake();

const live = (extra: Record<string, string> = {}) => ({
  SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
  SLACK_API_URL: slack.url,
  SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
  FOREMAN_PUBLIC_URL: "https://foreman.example.com",
  FOREMAN_DRY_RUN: "false",
  ...extra,
});

/** Moves a task (one transition) and publishes what it owes to the recording sender. */
async function move(deps: Deps, taskId: string, to: TaskState, reason?: string) {
  const r = await transition(deps.db, { taskId, to, key: freshKey(), actor: "test", reason: reason ?? null });
  await publish(deps, r.outbox);
  return r;
}

/** Delivers what the functions were sent to notify only (the engine's trigger filters applied). */
const deliver = (deps: Deps, events: RecordingSender) => routeEvents([notify], deps, events);

const channelMessages = () => slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
const posts = () => slack.callsTo("chat.postMessage");
const eventsOf = async (db: AppDb, id: string) =>
  db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);
type Blocks = { type: string; elements?: { action_id?: string; value?: string }[] }[];

describe("notify: only when a person is needed", () => {
  it("posts a triage notice (class, reason, Retry) and a blocked notice (reason); a whole routine lifecycle posts nothing", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, live());
    const routine = await insertTask(db, { status: "ready", title: "Routine work" });
    for (const to of ["working", "awaiting_internal_review", "awaiting_client_review", "done"] as const)
      await move(deps, routine.id, to);
    const failed = await insertTask(db, { status: "working", title: "Sync the renewal dates" });
    await move(
      deps,
      failed.id,
      "failed_needs_triage",
      "auth: HubSpot answered 401 for the private app token",
    );
    const blocked = await insertTask(db, { status: "working", title: "Import the price list" });
    await move(deps, blocked.id, "blocked_external", "needs the client's price list (CSV)");

    const runs = await deliver(deps, events);
    // Only the two human-needed moves started a run: the routine ones never reach the function.
    expect(runs.map((r) => [r.taskId, r.error])).toEqual([
      [failed.id, undefined],
      [blocked.id, undefined],
    ]);
    expect(posts()).toHaveLength(2);
    const [triage, block] = channelMessages();
    expect(triage?.text).toContain("credentials refused");
    const triageBlocks = JSON.stringify(triage?.blocks);
    expect(triageBlocks).toContain("`auth`");
    expect(triageBlocks).toContain("HubSpot answered 401 for the private app token");
    expect(triageBlocks).toContain(`https://foreman.example.com/board/tasks/${failed.id}`);
    const retry = ((triage?.blocks ?? []) as Blocks).find((b) => b.type === "actions")?.elements?.[0];
    expect(retry).toMatchObject({ action_id: "task:retry", value: JSON.stringify({ taskId: failed.id }) });
    expect(block?.text).toBe("Blocked: Import the price list");
    expect(JSON.stringify(block?.blocks)).toContain("needs the client's price list (CSV)");
    expect(JSON.stringify(block?.blocks)).not.toContain("task:retry");
    // Each notice started its task's thread.
    const roots = await db
      .select()
      .from(slackMessages)
      .where(eq(slackMessages.key, `thread:${failed.id}`));
    expect(roots).toMatchObject([{ kind: "thread", ts: triage?.ts, recorded: "sent" }]);
  });

  it("says nothing for a routine event delivered anyway — awaiting_internal_review included (the review card is the review run's)", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, live());
    for (const to of [
      "ready",
      "working",
      "awaiting_internal_review",
      "awaiting_client_review",
      "done",
      "cancelled",
    ] as const) {
      const task = await insertTask(db, { status: to });
      const res = await runFunction(notify, {
        deps,
        event: {
          name: "task/state.changed",
          data: {
            taskId: task.id,
            from: "working",
            to,
            version: 1,
            eventId: 1,
            reason: null,
            actor: "t",
          },
        },
      });
      expect(res.result, to).toMatchObject({ posted: "silent" });
    }
    expect(slack.calls).toEqual([]);
  });

  it("keeps one thread per task: a second notice lands under the first, and a retried step posts nothing more", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, live());
    const task = await insertTask(db, { status: "working", title: "Twice unlucky" });
    await move(deps, task.id, "failed_needs_triage", "timeout: no submission after 40 turns");
    await deliver(deps, events);
    const [root] = channelMessages();
    // Someone retries it; it is worked again and then blocks.
    await move(deps, task.id, "ready");
    await move(deps, task.id, "working");
    const blocked = await move(deps, task.id, "blocked_external", "waiting for the API key");
    await deliver(deps, events);
    const messages = channelMessages();
    expect(messages).toHaveLength(2);
    expect(messages[0]?.thread_ts).toBeUndefined();
    expect(messages[1]).toMatchObject({ thread_ts: root?.ts, text: "Blocked: Twice unlucky" });

    // The engine retries the step (or re-delivers the event): the notice's own row is found first.
    const again = await runFunction(notify, {
      deps,
      event: {
        name: "task/state.changed",
        data: {
          taskId: task.id,
          from: "working",
          to: "blocked_external",
          version: blocked.version,
          eventId: blocked.eventId,
          reason: "waiting for the API key",
          actor: "test",
        },
      },
    });
    expect(again.result).toMatchObject({ posted: "already", ts: messages[1]?.ts });
    expect(posts()).toHaveLength(2);
  });

  it("threads under the task's newest review card instead of starting a root", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, live());
    const task = await insertTask(db, {
      status: "awaiting_internal_review",
      title: "Reviewed, then blocked",
    });
    const older = await deps.slack?.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "card v1" });
    const newer = await deps.slack?.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "card v2" });
    await db.insert(slackMessages).values([
      {
        key: `card:internal:${task.id}:${"1".repeat(64)}`,
        taskId: task.id,
        kind: "card",
        channel: FAKE_REVIEW_CHANNEL,
        ts: older?.ts as string,
        createdAt: new Date(Date.now() - 60_000),
      },
      {
        key: `card:internal:${task.id}:${"2".repeat(64)}`,
        taskId: task.id,
        kind: "card",
        channel: FAKE_REVIEW_CHANNEL,
        ts: newer?.ts as string,
      },
    ]);
    await move(
      deps,
      task.id,
      "blocked_external",
      "no stamp: the internal review was not decided before its deadline",
    );
    await deliver(deps, events);
    const notice = channelMessages().at(-1);
    expect(notice).toMatchObject({ thread_ts: newer?.ts, text: "Blocked: Reviewed, then blocked" });
    // The card is the thread: no second root was recorded.
    expect(
      await db
        .select()
        .from(slackMessages)
        .where(eq(slackMessages.key, `thread:${task.id}`)),
    ).toEqual([]);
  });

  it("still posts when only the version moved on (a reassign), not the state", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, live());
    const task = await insertTask(db, { status: "working" });
    const failed = await move(deps, task.id, "failed_needs_triage", "other: boom");
    // A reassign is a compare-and-set that bumps the version without a move.
    await db
      .update(tasks)
      .set({ version: failed.version + 1 })
      .where(eq(tasks.id, task.id));
    const res = await runFunction(notify, {
      deps,
      event: {
        name: "task/state.changed",
        data: {
          taskId: task.id,
          from: "working",
          to: "failed_needs_triage",
          version: failed.version,
          eventId: failed.eventId,
          reason: "other: boom",
          actor: "test",
        },
      },
    });
    expect(res.result).toMatchObject({ posted: "sent" });
    expect(posts()).toHaveLength(1);
  });

  it("drops a late event for a task that has already moved on", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, live());
    const task = await insertTask(db, { status: "working" });
    const failed = await move(deps, task.id, "failed_needs_triage", "other: boom");
    await move(deps, task.id, "ready"); // retried before notify ran
    const res = await runFunction(notify, {
      deps,
      event: {
        name: "task/state.changed",
        data: {
          taskId: task.id,
          from: "working",
          to: "failed_needs_triage",
          version: failed.version,
          eventId: failed.eventId,
          reason: "other: boom",
          actor: "test",
        },
      },
    });
    expect(res.result).toMatchObject({ posted: "stale", reason: expect.stringContaining("now ready") });
    expect(slack.calls).toEqual([]);
  });

  it("tells the channel once when the scheduler pauses and when the budget crosses a warning level", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, live());
    const paused = await pauseScheduler(db, {
      reason: "daily token budget spent",
      actor: "fn:schedule",
      now: new Date(),
    });
    const warned = await raiseBudgetWarnings(
      db,
      {
        day: "2031-03-04",
        tokensToday: 960_000,
        costToday: 0,
        taskTokens: 0,
        dailySpent: false,
        taskSpent: false,
        warnings: [80, 95],
      },
      { dailyTokens: 1_000_000 },
    );
    await publish(deps, [...paused.outbox, ...warned]);
    const runs = await deliver(deps, events);
    expect(runs.map((r) => r.event)).toEqual(["scheduler/paused", "budget/warning", "budget/warning"]);
    expect(channelMessages().map((m) => m.text)).toEqual([
      "Scheduler paused: daily token budget spent",
      "Budget warning: 80 % of the daily token budget used (2031-03-04)",
      "Budget warning: 95 % of the daily token budget used (2031-03-04)",
    ]);
    // A retried step (same event id) finds its mark and posts nothing more.
    const again = await runFunction(notify, {
      deps,
      event: {
        name: "budget/warning",
        id: warned[1]?.eventId as string,
        data: warned[1]?.data as Record<string, unknown>,
      },
    });
    expect(again.result).toEqual({ posted: "already" });
    expect(posts()).toHaveLength(3);
  });
});

describe("notify: dry-run and missing configuration", () => {
  it("in dry-run posts nothing and records the exact request as WOULD_DO — globally or for one task", async () => {
    const db = t.current.db;
    for (const { env, dryRunTask } of [
      { env: live({ FOREMAN_DRY_RUN: "true" }), dryRunTask: false },
      { env: live(), dryRunTask: true },
    ]) {
      const { deps, events } = testDeps(db, env);
      const task = await insertTask(db, { status: "working", title: "Rehearsal", dryRun: dryRunTask });
      await move(deps, task.id, "failed_needs_triage", "budget: the task used 210000 tokens, over its cap");
      await deliver(deps, events);
      const wouldDo = (await eventsOf(db, task.id)).filter((e) => e.kind === "would_do");
      expect(wouldDo).toHaveLength(1);
      expect(wouldDo[0]?.payload).toMatchObject({
        method: "chat.postMessage",
        path: "slack:chat.postMessage",
        body: { channel: FAKE_REVIEW_CHANNEL, text: "Needs triage (token budget): Rehearsal" },
      });
      expect(JSON.stringify(wouldDo[0]?.payload)).toContain("task:retry");
      const [root] = await db
        .select()
        .from(slackMessages)
        .where(eq(slackMessages.key, `thread:${task.id}`));
      expect(root?.recorded).toBe("would_do");
    }
    expect(slack.calls).toEqual([]);
  });

  it("in dry-run keeps the scheduler's notice as the exact request in its mark, and posts nothing", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, live({ FOREMAN_DRY_RUN: "true" }));
    const res = await runFunction(notify, {
      deps,
      event: {
        name: "scheduler/paused",
        id: "scheduler-paused:dry-run-test",
        data: { reason: "paused by Ana", actor: "api:ana" },
      },
    });
    expect(res.result).toEqual({ posted: "would_do" });
    const [mark] = await db
      .select()
      .from(settings)
      .where(eq(settings.key, "notify.slack.scheduler-paused:dry-run-test"));
    expect(mark?.value).toMatchObject({
      recorded: "would_do",
      request: {
        method: "chat.postMessage",
        body: { channel: FAKE_REVIEW_CHANNEL, text: "Scheduler paused: paused by Ana" },
      },
    });
    expect(slack.calls).toEqual([]);
  });

  it("without a Slack token outside dry-run, says so in the task's log and posts nothing", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, { FOREMAN_DRY_RUN: "false", SLACK_API_URL: slack.url });
    const task = await insertTask(db, { status: "working" });
    await move(deps, task.id, "blocked_external", "waiting for access");
    await deliver(deps, events);
    const notes = (await eventsOf(db, task.id)).filter((e) => e.kind === "note");
    expect(notes.map((n) => (n.payload as { text: string }).text)).toEqual([
      "Not posted to Slack (the blocked notice): SLACK_BOT_TOKEN and SLACK_REVIEW_CHANNEL are not both set.",
    ]);
    expect(slack.calls).toEqual([]);
  });

  it("a Slack refusal no retry can fix (unknown channel) is noted on the task, and the run ends cleanly", async () => {
    const db = t.current.db;
    const { deps, events } = testDeps(db, live({ SLACK_REVIEW_CHANNEL: "C0NOSUCH001" }));
    const task = await insertTask(db, { status: "working" });
    await move(deps, task.id, "failed_needs_triage", "other: boom");
    const [run] = await deliver(deps, events);
    expect(run?.error).toBeUndefined();
    expect(run?.result).toEqual({ posted: "refused" });
    const note = (await eventsOf(db, task.id)).find((e) => e.kind === "note");
    expect(JSON.stringify(note?.payload)).toContain("Slack refused the triage notice");
    expect((await db.select().from(tasks).where(eq(tasks.id, task.id)))[0]?.status).toBe(
      "failed_needs_triage",
    );
  });
});
