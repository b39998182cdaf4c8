// The watchdog and an outbox that stopped draining: one Slack alert per stall (not one per pass),
// the pending event left to the drain rather than re-sent, the alert forgotten once the outbox has
// drained so the next stall raises a new one; in dry-run the exact alert is recorded and logged and
// Slack is not called.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { settings } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { drainOutbox } from "../lib/outbox/drain.ts";
import { transition } from "../lib/tasks/transition.ts";
import { OUTBOX_ALERT_KEY } from "../lib/watchdog/outbox-alert.ts";
import { useTestDb } from "../test/db.ts";
import { quietLogger, testDeps } from "../test/deps.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_TOKEN, useSlackFake } from "../test/fakes/slack.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";
import { addWorker, clockAt, pass } from "../test/watchdog.ts";

const slack = useSlackFake();

const env = (extra: Record<string, string> = {}) => ({
  FOREMAN_DRY_RUN: "false",
  SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
  SLACK_API_URL: slack.url,
  SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
  ...extra,
});

/** A task made ready by a move whose events are still in the outbox (never sent). */
async function readyUnsent(db: AppDb, worker: string): Promise<string> {
  const task = await insertTask(db, { status: "intake", workerId: worker, triagedAt: new Date() });
  await transition(db, { taskId: task.id, to: "ready", key: freshKey(), actor: "fn:promote" });
  return task.id;
}

const markOf = async (db: AppDb) =>
  (await db.select().from(settings).where(eq(settings.key, OUTBOX_ALERT_KEY)))[0]?.value as
    | Record<string, unknown>
    | undefined;

describe("watchdog: the outbox stopped draining", () => {
  const t = useTestDb();

  it("alerts once while the stall lasts, leaves the pending event to the drain, and alerts again on the next stall", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    await readyUnsent(db, worker);
    const { deps, events } = testDeps(db, env());
    const posted = () => slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];

    clockAt(deps, 20);
    expect(await pass(deps)).toMatchObject({ outbox: "sent", resent: 0 });
    expect(posted()).toHaveLength(1);
    expect(posted()[0]?.text).toMatch(
      /outbox has stopped draining: 2 events waiting, the oldest for (19|20) minutes/,
    );
    // The task/ready is still owed by the outbox: re-sending it is the drain's job, not a lost event.
    expect(events.sent).toEqual([]);
    expect(await markOf(db)).toMatchObject({
      state: "sent",
      channel: FAKE_REVIEW_CHANNEL,
      ts: posted()[0]?.ts,
    });

    // Still stalled five minutes on: no second alert.
    clockAt(deps, 25);
    expect(await pass(deps)).toMatchObject({ outbox: "none" });
    expect(posted()).toHaveLength(1);

    // The drain gets through: the alert is forgotten, nothing is posted about it.
    await drainOutbox(deps);
    expect(events.sent.map((e) => e.name)).toEqual(["task/state.changed", "task/ready"]);
    clockAt(deps, 30);
    expect(await pass(deps)).toMatchObject({ outbox: "cleared" });
    expect(await markOf(db)).toBeUndefined();
    expect(posted()).toHaveLength(1);

    // A new stall is a new alert.
    await readyUnsent(db, worker);
    clockAt(deps, 38);
    expect(await pass(deps)).toMatchObject({ outbox: "sent" });
    expect(posted()).toHaveLength(2);
    expect(slack.callsTo("chat.postMessage")).toHaveLength(2);
  });
});

/**
 * A stall alerted at 20 minutes, then one of its two events outlives the engine's dedup window
 * before the drain gets to it: the drain sends the other and sets that one aside.
 */
async function stallThatLostOne(db: AppDb) {
  const worker = await addWorker(db);
  await readyUnsent(db, worker);
  const { deps } = testDeps(db, env());
  const posted = () => slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
  clockAt(deps, 20);
  expect(await pass(deps)).toMatchObject({ outbox: "sent" });
  await db.execute(sql`update outbox set created_at = now() - interval '24 hours'
                        where id = (select min(id) from outbox where sent_at is null and abandoned_at is null)`);
  expect((await drainOutbox(deps)).abandoned).toHaveLength(1);
  return { deps, posted, worker };
}

describe("watchdog: a stall that cost events", () => {
  const t = useTestDb();

  it("says, once it drains, how many events were set aside unsent while it lasted", async () => {
    const db = t.current.db;
    const { deps, posted } = await stallThatLostOne(db);
    expect(posted()).toHaveLength(1);
    clockAt(deps, 30);
    expect(await pass(deps)).toMatchObject({ outbox: "cleared_lost" });
    expect(posted()).toHaveLength(2);
    expect(posted()[1]?.text).toMatch(
      /^The outbox drains again, but 1 event was set aside unsent during the stall/,
    );
    expect(await markOf(db)).toBeUndefined();

    // Said once: the next pass has nothing to clear or say.
    clockAt(deps, 35);
    expect(await pass(deps)).toMatchObject({ outbox: "none" });
    expect(posted()).toHaveLength(2);
  });
});

describe("watchdog: a stall's notice of lost events that Slack refuses", () => {
  const t = useTestDb();

  it("is owed, not open: the next stall still raises its alert", async () => {
    const db = t.current.db;
    const { deps, posted, worker } = await stallThatLostOne(db);

    slack.failNext("chat.postMessage", { error: "channel_not_found" });
    clockAt(deps, 30);
    expect(await pass(deps)).toMatchObject({ outbox: "clear_failed" });
    expect(await markOf(db)).toMatchObject({ state: "notice_owed" });

    // A new stall before the notice got through: it is alerted all the same.
    await readyUnsent(db, worker);
    clockAt(deps, 55);
    expect(await pass(deps)).toMatchObject({ outbox: "sent" });
    expect(posted().at(-1)?.text).toMatch(/outbox has stopped draining/);
    expect(await markOf(db)).toMatchObject({ state: "sent" });
  });
});

describe("watchdog: the outbox alert when Slack refuses it", () => {
  const t = useTestDb();

  it("releases its claim, goes on with the pass, and alerts on the next pass", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    await readyUnsent(db, worker);
    const { deps } = testDeps(db, env());
    const logged: string[] = [];
    deps.logger = { ...quietLogger, error: (msg: string) => void logged.push(msg) };
    const posted = () => slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];

    // Not in the channel: Slack refuses for good (no retry helps), and the pass still completes.
    slack.failNext("chat.postMessage", { error: "not_in_channel" });
    clockAt(deps, 20);
    expect(await pass(deps)).toMatchObject({ outbox: "failed", resent: 0 });
    expect(posted()).toHaveLength(0);
    expect(await markOf(db)).toBeUndefined();
    expect(logged.some((m) => m.includes("the Slack alert failed"))).toBe(true);

    // The bot is invited; the outbox is still stalled: the next pass alerts, once.
    clockAt(deps, 25);
    expect(await pass(deps)).toMatchObject({ outbox: "sent" });
    expect(posted()).toHaveLength(1);
    clockAt(deps, 30);
    expect(await pass(deps)).toMatchObject({ outbox: "none" });
    expect(posted()).toHaveLength(1);
  });
});

describe("watchdog: the outbox alert in dry-run", () => {
  const t = useTestDb();

  it("records the exact alert in its mark and the log, once, and calls Slack not at all", async () => {
    const db = t.current.db;
    const worker = await addWorker(db);
    await readyUnsent(db, worker);
    const { deps } = testDeps(db, env({ FOREMAN_DRY_RUN: "true" }));
    const logged: { msg: string; fields?: Record<string, unknown> }[] = [];
    deps.logger = {
      ...quietLogger,
      warn: (msg, fields) => logged.push({ msg, ...(fields ? { fields } : {}) }),
    };

    clockAt(deps, 20);
    expect(await pass(deps)).toMatchObject({ outbox: "would_do" });
    clockAt(deps, 25);
    expect(await pass(deps)).toMatchObject({ outbox: "none" });

    expect(slack.calls).toEqual([]);
    const mark = await markOf(db);
    expect(mark).toMatchObject({
      state: "would_do",
      request: {
        method: "chat.postMessage",
        body: { channel: FAKE_REVIEW_CHANNEL, text: expect.stringContaining("outbox has stopped draining") },
      },
    });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      msg: "watchdog: the outbox stopped draining (WOULD_DO: Slack alert)",
      fields: { pending: 2, request: mark?.request },
    });
  });
});
