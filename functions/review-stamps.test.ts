// The review run's human stages against the Slack fake and a real database: the internal card is
// posted with the findings and its buttons, a signed click through /slack/interactions updates the
// card and wakes the run, the client's link follows in the card's thread; dry-run records the exact
// card as WOULD_DO and calls nothing; reminder, escalation and deadline fire in that order; a 14-day
// window is a chain of waits; a click that lands before a wait exists, or between two waits, is found;
// a byte-identical resubmission is decided afresh, and an earlier round's wait ends when it re-enters.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  projects,
  reviewers,
  slackMessages,
  stampLinks,
  taskEvents,
  tasks,
  workerLeases,
} from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { newId } from "../lib/ids.ts";
import { readStageEntry, readStampOutcome } from "../lib/review/stamp-wait.ts";
import type { SlackClient } from "../lib/slack/client.ts";
import { SIGNATURE_HEADER, slackSignature, TIMESTAMP_HEADER } from "../lib/slack/verify.ts";
import { applyStamp } from "../lib/stamps/apply.ts";
import { transition } from "../lib/tasks/transition.ts";
import { findLostWaits } from "../lib/watchdog/lost-waits.ts";
import { useTestDb } from "../test/db.ts";
import { testApp } from "../test/deps.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import {
  FAKE_REVIEW_CHANNEL,
  FAKE_REVIEWER,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startSlackFake,
} from "../test/fakes/slack.ts";
import { freshKey, stampWhileWaiting, submittedDeliverable } from "../test/fixtures.ts";
import { runFunction, suspendedAt, type WaitHandler } from "../test/inngest.ts";
import { review } from "./review.ts";

const t = useTestDb();
let model: OpenAIUpstream;
let slack: FakeSlack;
beforeAll(async () => {
  [model, slack] = await Promise.all([startOpenAIUpstream(), startSlackFake()]);
});
afterAll(async () => {
  await Promise.all([model?.close(), slack?.close()]);
});
beforeEach(async () => {
  await t.current.db.delete(workerLeases);
  slack.calls.length = 0;
  slack.messages.clear();
});

const SECRET = "slack-signing-secret-for-tests";
const ESCALATION_REVIEWER = "U0ESCALATE1";
const FEEDBACK = "Two of three criteria pass; the label casing is off.";

function answers(pass: boolean) {
  Object.defineProperty(model.behaviour, "json", {
    configurable: true,
    get: () => ({
      criteria: [{ criterion: "label", score: pass ? 9 : 4, pass, note: "label" }],
      verdict: pass ? "pass" : "fail",
      score: pass ? 9 : 4,
      feedback: FEEDBACK,
    }),
  });
}

const env = (extra: Record<string, string> = {}) => ({
  BRIDGE_URL: model.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: model.behaviour.model,
  SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
  SLACK_API_URL: slack.url,
  SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
  SLACK_SIGNING_SECRET: SECRET,
  STAMP_LINK_KEY: "k".repeat(40),
  FOREMAN_PUBLIC_URL: "https://foreman.example.com",
  FOREMAN_DRY_RUN: "false",
  FOREMAN_STAMP_TIMEOUT_DAYS: "5",
  ...extra,
});

/** A project that requires an internal stamp, its reviewer and its escalation reviewer. */
async function project(db: AppDb) {
  const id = newId("proj");
  await db.insert(projects).values({ id, name: id, requiresInternalStamp: true });
  await db.insert(reviewers).values([
    {
      id: newId("rvw"),
      projectId: id,
      kind: "human",
      stage: "internal",
      name: "Ana",
      slackUserId: FAKE_REVIEWER,
    },
    {
      id: newId("rvw"),
      projectId: id,
      kind: "human",
      stage: "internal",
      name: "Lead",
      slackUserId: ESCALATION_REVIEWER,
      escalates: true,
    },
  ]);
  return id;
}

async function submitted(db: AppDb, opts: { dryRun?: boolean } = {}) {
  return submittedDeliverable(db, {
    markdown: "# Renewal date\nCreated the property.",
    task: { rubric: ["label"], projectId: await project(db), ...(opts.dryRun ? { dryRun: true } : {}) },
  });
}

const statusOf = async (id: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
const kinds = async (id: string) =>
  (await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id)).map(
    (e) => e.kind,
  );

function signedClick(api: ReturnType<typeof testApp>, payload: unknown) {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(Math.floor(Date.now() / 1000));
  return api.app.request("/slack/interactions", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      [SIGNATURE_HEADER]: slackSignature(SECRET, ts, body),
      [TIMESTAMP_HEADER]: ts,
    },
  });
}

/** The click Slack sends for a button on the card as the fake holds it. */
function clickOn(card: { ts: string; blocks?: unknown[] }, actionId: string, user = FAKE_REVIEWER) {
  const actions = (
    card.blocks as { type: string; block_id?: string; elements?: { action_id: string; value: string }[] }[]
  ).find((b) => b.type === "actions");
  const button = actions?.elements?.find((e) => e.action_id === actionId);
  if (!actions || !button) throw new Error(`no ${actionId} button on the card`);
  return {
    type: "block_actions",
    user: { id: user, team_id: "T0FAKE0001" },
    team: { id: "T0FAKE0001" },
    container: { type: "message", message_ts: card.ts, channel_id: FAKE_REVIEW_CHANNEL },
    channel: { id: FAKE_REVIEW_CHANNEL },
    message: { ts: card.ts },
    trigger_id: `trig.${card.ts}.${actionId}`,
    actions: [
      {
        type: "button",
        action_id: actionId,
        block_id: actions.block_id,
        value: button.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

const cardIn = () => {
  const m = slack.messages.get(FAKE_REVIEW_CHANNEL)?.find((x) => !x.thread_ts && x.blocks);
  if (!m) throw new Error("no card in the review channel");
  return m;
};

describe("review: the human stages", () => {
  it("posts the card with the findings, takes a signed click, updates the card and hands over the client link", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, hash, event } = await submitted(db);
    const api = testApp(db, env());
    let waitIds: string[] = [];
    const clickApprove: WaitHandler = async (id) => {
      waitIds.push(id);
      const card = cardIn();
      const res = await signedClick(api, clickOn(card, "stamp:approve"));
      expect(res.status).toBe(200);
      // The clicker is told in the card's channel, only to them (Slack ignores the answer's body).
      expect(slack.ephemerals.filter((e) => e.user === FAKE_REVIEWER).at(-1)?.text).toContain(
        `Approved by <@${FAKE_REVIEWER}>`,
      );
      // The endpoint updated the card itself: the buttons are gone, who and when are shown.
      const updated = cardIn();
      expect(JSON.stringify(updated.blocks)).toContain(`Approved by <@${FAKE_REVIEWER}>`);
      expect(JSON.stringify(updated.blocks)).not.toContain("stamp:approve");
      return api.events.sent.find((e) => e.name === "task/stamped");
    };
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [clickApprove],
    });

    expect(suspendedAt(res.error)).toBe("client:wait:remind:0");
    expect(waitIds).toEqual(["internal:wait:remind:0"]);
    expect(await statusOf(taskId)).toBe("awaiting_client_review");
    // The card as first posted: title, findings, links, three buttons carrying this exact version.
    const posted = slack.callsTo("chat.postMessage")[0]?.body as { blocks: string; channel: string };
    expect(posted.channel).toBe(FAKE_REVIEW_CHANNEL);
    const blocks = JSON.parse(posted.blocks) as { type: string; block_id?: string; elements?: unknown[] }[];
    expect(JSON.stringify(blocks)).toContain(FEEDBACK);
    expect(JSON.stringify(blocks)).toContain(`https://foreman.example.com/board/tasks/${taskId}`);
    const actions = blocks.find((b) => b.type === "actions");
    expect(actions?.block_id).toBe(`stamp:${taskId}:${hash}`);
    expect(actions?.elements).toHaveLength(3);
    const [row] = await db.select().from(slackMessages).where(eq(slackMessages.taskId, taskId));
    expect(row).toMatchObject({
      kind: "card",
      channel: FAKE_REVIEW_CHANNEL,
      deliverableHash: hash,
      recorded: "sent",
    });
    // The client link went to the team in the card's thread; one link row, unused.
    const thread = slack.messages.get(FAKE_REVIEW_CHANNEL)?.filter((m) => m.thread_ts === row?.ts) ?? [];
    expect(thread).toHaveLength(1);
    expect(thread[0]?.text).toMatch(/https:\/\/foreman\.example\.com\/stamp\/[\w-]+\.[\w-]+/);
    const links = await db.select().from(stampLinks).where(eq(stampLinks.taskId, taskId));
    expect(links).toMatchObject([{ stage: "client", deliverableHash: hash, usedAt: null }]);
    waitIds = [];
  });

  it("hands out no client link when the client decided (another channel) before the run got to announce it", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, hash, event } = await submitted(db);
    const api = testApp(db, env());
    const approveThenClientDecides: WaitHandler = async () => {
      expect((await signedClick(api, clickOn(cardIn(), "stamp:approve"))).status).toBe(200);
      // The client approves through the API before the run reaches the client stage.
      await applyStamp(db, {
        taskId,
        stage: "client",
        decision: "approve",
        deliverableHash: hash,
        channel: "api",
        actor: "client@example.com",
        sourceRef: "early-client",
      });
      return api.events.sent.find((e) => e.name === "task/stamped");
    };
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [approveThenClientDecides],
    });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ stages: { client: { decision: "approve" } } });
    expect(await statusOf(taskId)).toBe("done");
    expect(await db.select().from(stampLinks).where(eq(stampLinks.taskId, taskId))).toEqual([]);
    const texts = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).map((m) => String(m.text));
    expect(texts.some((text) => text.includes("/stamp/"))).toBe(false);
  });

  it("opens the changes modal, and its submission sends the work back with the note", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env());
    const requestChanges: WaitHandler = async () => {
      const card = cardIn();
      const opened = await signedClick(api, clickOn(card, "stamp:changes"));
      expect(opened.status).toBe(200);
      const view = slack.views.at(-1)?.view as { callback_id: string; private_metadata: string };
      expect(view.callback_id).toBe("stamp:changes");
      const submitted = await signedClick(api, {
        type: "view_submission",
        user: { id: FAKE_REVIEWER, team_id: "T0FAKE0001" },
        team: { id: "T0FAKE0001" },
        view: {
          id: "V0MODAL0001",
          callback_id: "stamp:changes",
          private_metadata: view.private_metadata,
          state: {
            values: {
              "stamp:note": { "stamp:note": { type: "plain_text_input", value: "Use 'Renewal date'." } },
            },
          },
        },
      });
      expect(await submitted.json()).toEqual({ response_action: "clear" });
      return api.events.sent.find((e) => e.name === "task/stamped");
    };
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [requestChanges],
    });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({
      stages: { internal: { decision: "request_changes", note: "Use 'Renewal date'." } },
    });
    expect(await statusOf(taskId)).toBe("ready");
    expect(JSON.stringify(cardIn().blocks)).toContain("Changes requested");
  });

  it("in dry-run records the exact card as WOULD_DO and calls Slack not at all", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db, { dryRun: true });
    const api = testApp(db, env());
    const res = await runFunction(review, { deps: api.deps, event, runId: `rv_${taskId}` });
    expect(suspendedAt(res.error)).toBe("internal:wait:remind:0");
    expect(slack.calls).toEqual([]);
    const would = (await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId))).filter(
      (e) => e.kind === "would_do",
    );
    expect(would).toHaveLength(1);
    const body = would[0]?.payload as {
      method: string;
      body: { channel: string; blocks: { type: string }[] };
    };
    expect(body.method).toBe("chat.postMessage");
    expect(body.body.channel).toBe(FAKE_REVIEW_CHANNEL);
    expect(body.body.blocks.map((b) => b.type)).toEqual([
      "header",
      "section",
      "section",
      "context",
      "actions",
    ]);
    const [row] = await db.select().from(slackMessages).where(eq(slackMessages.taskId, taskId));
    expect(row?.recorded).toBe("would_do");
  });

  it("reminds, then escalates, then sets the task aside at the deadline — in that order", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env());
    const timeouts: [string, string][] = [];
    const timeOut: WaitHandler = (id, o) => {
      timeouts.push([id, (o.timeout as Date).toISOString()]);
      return null;
    };
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: Array(6).fill(timeOut),
    });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({ stages: { internal: { kind: "moved", status: "blocked_external" } } });
    expect(await statusOf(taskId)).toBe("blocked_external");
    const log = await kinds(taskId);
    const after = log.slice(log.lastIndexOf("review"));
    expect(after.filter((k) => ["reminder", "escalation", "state_changed"].includes(k))).toEqual([
      "state_changed", // → awaiting_internal_review
      "reminder",
      "escalation",
      "state_changed", // → blocked_external
    ]);
    const [last] = (await db.select().from(tasks).where(eq(tasks.id, taskId))).map((r) => r.statusReason);
    expect(last).toContain("no stamp");
    // The waits ended 24 h, 72 h and 5 days after the card went out, one after another, each phase
    // opening with a one-minute wait (a click that beat the wait is found then).
    expect(timeouts.map(([id]) => id)).toEqual([
      "internal:wait:remind:0",
      "internal:wait:remind:1",
      "internal:wait:escalate:0",
      "internal:wait:escalate:1",
      "internal:wait:deadline:0",
      "internal:wait:deadline:1",
    ]);
    const ends = timeouts.map(([, at]) => Date.parse(at));
    const [r, e, d] = [ends[1], ends[3], ends[5]];
    expect(((ends[0] as number) - ((r as number) - 24 * 3_600_000)) / 1000).toBe(60);
    expect(((ends[2] as number) - (r as number)) / 1000).toBe(60);
    expect(((ends[4] as number) - (e as number)) / 1000).toBe(60);
    expect(((e as number) - (r as number)) / 3_600_000).toBe(48);
    expect(((d as number) - (r as number)) / 3_600_000).toBe(5 * 24 - 24);
    // Slack saw: the card, the reminder in its thread naming the reviewer, the escalation naming the
    // escalation reviewer, and the card closed.
    const card = cardIn();
    const channel = slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
    const reminder = channel.find((m) => m.thread_ts === card.ts);
    expect(reminder?.text).toContain(`<@${FAKE_REVIEWER}>`);
    expect(reminder?.text).toContain("Reminder");
    const escalation = channel.find((m) => m.text.includes("escalation"));
    expect(escalation?.text).toContain(`<@${ESCALATION_REVIEWER}>`);
    expect(JSON.stringify(card.blocks)).toContain("No stamp before the deadline");
    expect(slack.callsTo("chat.update")).toHaveLength(1);
  });

  it("goes on to the deadline when Slack keeps failing the reminder, the escalation and the card's update", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env());
    const down = "Slack answered 503 (service_unavailable)";
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: Array(6).fill(null),
      failSteps: { "internal:remind": down, "internal:escalate": down, "internal:settle-card": down },
    });
    expect(res.error).toBeUndefined();
    expect(await statusOf(taskId)).toBe("blocked_external");
    const notes = (
      await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
    )
      .filter((e) => e.kind === "note")
      .map((e) => (e.payload as { text: string }).text)
      .filter((text) => text.startsWith("Could not post"));
    expect(notes).toEqual([
      `Could not post the reminder to Slack after retrying (${down}); the stage goes on.`,
      `Could not post the escalation to Slack after retrying (${down}); the stage goes on.`,
      `Could not post the card's update to Slack after retrying (${down}); the stage goes on.`,
    ]);
  });

  it("records a reminder Slack would not take as passed, so the watchdog does not take the wait for lost", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env());
    const down = "Slack answered 503 (service_unavailable)";
    // The remind phase's waits time out, the reminder fails past its retries, the run waits on.
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [null, null],
      failSteps: { "internal:remind": down },
    });
    expect(suspendedAt(res.error)).toBe("internal:wait:escalate:0");
    const reminders = (await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId))).filter(
      (e) => e.kind === "reminder",
    );
    expect(reminders.map((e) => e.payload)).toEqual([
      expect.objectContaining({ stage: "internal", posted: false, why: down }),
    ]);
    // A watchdog pass 16 minutes past the reminder's time finds the run's wait where it should be.
    const hours = api.deps.config.FOREMAN_STAMP_REMIND_HOURS;
    const lost = await findLostWaits(db, {
      now: new Date(Date.now() + hours * 3_600_000 + 16 * 60_000),
      graceMinutes: 15,
      limit: 50,
      clock: api.deps.config,
    });
    expect(lost.filter((w) => w.taskId === taskId)).toEqual([]);
  });

  it("chains a 14-day window into waits of at most 7 days", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env({ FOREMAN_STAMP_TIMEOUT_DAYS: "14" }));
    const ids: string[] = [];
    const timeOut: WaitHandler = (id) => {
      ids.push(id);
      return null;
    };
    await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: Array(7).fill(timeOut),
    });
    expect(ids).toEqual([
      "internal:wait:remind:0",
      "internal:wait:remind:1",
      "internal:wait:escalate:0",
      "internal:wait:escalate:1",
      "internal:wait:deadline:0",
      "internal:wait:deadline:1",
      "internal:wait:deadline:2",
    ]);
    expect(await statusOf(taskId)).toBe("blocked_external");
  });

  it("finds a click that landed between two waits: no reminder goes out", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, hash, event } = await submitted(db);
    const api = testApp(db, env());
    // The click lands while no wait exists (here: as the first wait times out), so no wait ever sees
    // its event. The re-read after that wait finds it — a minute after the card, not at the reminder.
    const posted = Date.now();
    let missedUntil = 0;
    const timeoutThenClick: WaitHandler = async (_id, o) => {
      missedUntil = (o.timeout as Date).getTime();
      await applyStamp(db, {
        taskId,
        stage: "internal",
        decision: "approve",
        deliverableHash: hash,
        channel: "api",
        actor: "ops@example.com",
        sourceRef: "late-click",
      });
      return null;
    };
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [timeoutThenClick],
    });
    expect(missedUntil - posted).toBeLessThanOrEqual(60_000 + 5_000);
    expect(suspendedAt(res.error)).toBe("client:wait:remind:0");
    expect(await kinds(taskId)).not.toContain("reminder");
    expect(await statusOf(taskId)).toBe("awaiting_client_review");
  });

  it("finds a click that beat the first wait: the run never waits for the internal stage", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, hash, event } = await submitted(db);
    const api = testApp(db, env());
    // The reviewer clicks the instant the card lands, before the run reaches its first wait.
    const live = api.deps.slack as SlackClient;
    api.deps.slack = {
      ...live,
      postMessage: async (m) => {
        const posted = await live.postMessage(m);
        if (m.blocks) {
          await applyStamp(db, {
            taskId,
            stage: "internal",
            decision: "reject",
            deliverableHash: hash,
            channel: "api",
            actor: "ops@example.com",
            sourceRef: "fast-click",
          });
        }
        return posted;
      },
    };
    const ids: string[] = [];
    const res = await runFunction(review, {
      deps: api.deps,
      event,
      runId: `rv_${taskId}`,
      waits: [(id: string) => ids.push(id) && null],
    });
    expect(res.error).toBeUndefined();
    expect(ids).toEqual([]);
    expect(res.result).toMatchObject({ stages: { internal: { decision: "reject" } } });
    expect(await statusOf(taskId)).toBe("cancelled");
  });

  it("keeps waiting when Slack refuses the card for good, and says so in the log", async () => {
    const db = t.current.db;
    answers(true);
    const { taskId, event } = await submitted(db);
    const api = testApp(db, env());
    slack.failNext("chat.postMessage", { error: "channel_not_found" });
    const res = await runFunction(review, { deps: api.deps, event, runId: `rv_${taskId}` });
    expect(suspendedAt(res.error)).toBe("internal:wait:remind:0");
    const notes = (
      await db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id)
    )
      .filter((e) => e.kind === "note")
      .map((e) => (e.payload as { text: string }).text);
    expect(
      notes.some((n) => n.includes("Slack refused the review card") && n.includes("channel_not_found")),
    ).toBe(true);
    expect(await db.select().from(slackMessages).where(eq(slackMessages.taskId, taskId))).toEqual([]);
  });
});

describe("review: a byte-identical resubmission", () => {
  it("is decided afresh: the earlier round's stamps and card are not this round's", async () => {
    const db = t.current.db;
    answers(true);
    const first = await submitted(db);
    const { taskId, hash } = first;
    const api = testApp(db, env());
    // Round 1: approved inside, then the client asks for changes.
    const one = await runFunction(review, {
      deps: api.deps,
      event: first.event,
      runId: `rv1_${taskId}`,
      waits: [
        stampWhileWaiting(db, taskId, "internal", "approve"),
        stampWhileWaiting(db, taskId, "client", "request_changes"),
      ],
    });
    expect(one.error).toBeUndefined();
    expect(await statusOf(taskId)).toBe("ready");
    // Round 2: the worker hands in the very same bytes.
    await db.delete(workerLeases);
    const second = await submittedDeliverable(db, {
      taskId,
      n: 2,
      markdown: "# Renewal date\nCreated the property.",
    });
    expect(second.hash).toBe(hash);
    const waited: string[] = [];
    const two = await runFunction(review, {
      deps: api.deps,
      event: second.event,
      runId: `rv2_${taskId}`,
      waits: [(id: string) => waited.push(id) && null],
    });
    // It waits for a person again, on a card of its own — round 1's approval does not carry over.
    expect(suspendedAt(two.error)).toBe("internal:wait:remind:1");
    expect(waited).toEqual(["internal:wait:remind:0"]);
    expect(await statusOf(taskId)).toBe("awaiting_internal_review");
    const cards = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter((m) => !m.thread_ts && m.blocks);
    expect(cards).toHaveLength(2);
    expect(JSON.stringify(cards[1]?.blocks)).toContain("stamp:approve");
    // The new card takes this round's click, and the run goes on to the client stage.
    const res = await signedClick(
      api,
      clickOn(cards[1] as { ts: string; blocks?: unknown[] }, "stamp:approve"),
    );
    expect(res.status).toBe(200);
    expect(await statusOf(taskId)).toBe("awaiting_client_review");
  });

  it("ends an earlier round's wait when the task has entered the stage again with the same bytes", async () => {
    const db = t.current.db;
    const first = await submitted(db);
    const { taskId, hash } = first;
    const move = (to: "awaiting_internal_review" | "blocked_external" | "ready") =>
      transition(db, { taskId, to, key: freshKey(), actor: "test" });
    await move("awaiting_internal_review");
    const ref = { taskId, stage: "internal" as const, deliverableHash: hash };
    const roundOne = await readStageEntry(db, ref);
    expect(await readStampOutcome(db, { ...ref, entered: roundOne })).toEqual({ kind: "waiting" });
    // Set aside, unblocked, worked again to the very same deliverable, back in the stage.
    await move("blocked_external");
    await move("ready");
    await db.delete(workerLeases);
    expect(
      (await submittedDeliverable(db, { taskId, n: 2, markdown: "# Renewal date\nCreated the property." }))
        .hash,
    ).toBe(hash);
    await move("awaiting_internal_review");
    const roundTwo = await readStageEntry(db, ref);
    expect(roundTwo?.eventId).toBeGreaterThan(roundOne?.eventId ?? Infinity);
    expect(await readStampOutcome(db, { ...ref, entered: roundOne })).toEqual({
      kind: "moved",
      status: "awaiting_internal_review",
    });
    expect(await readStampOutcome(db, { ...ref, entered: roundTwo })).toEqual({ kind: "waiting" });
    expect(await readStampOutcome(db, ref)).toEqual({ kind: "waiting" });
  });
});
