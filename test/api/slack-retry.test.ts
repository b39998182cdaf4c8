// The Retry button end to end: notify posts the triage notice to the Slack fake, a signed click
// through POST /slack/interactions by a listed internal reviewer moves the task failed_needs_triage →
// ready in one transition (keyed by the click, reason naming who), publishes what it owes (task/ready),
// and updates the notice in Slack (who, when; the button gone); the same click again is the same
// retry. A non-reviewer, a reviewer of another project and a click on a task no longer failed are
// refused politely, audited as `refusal` events, and change nothing.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { projects, reviewers, taskDependencies, taskEvents, tasks } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { functions } from "../../functions/index.ts";
import { newId } from "../../lib/ids.ts";
import { publish } from "../../lib/outbox/publish.ts";
import { SIGNATURE_HEADER, slackSignature, TIMESTAMP_HEADER } from "../../lib/slack/verify.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import {
  FAKE_REVIEW_CHANNEL,
  FAKE_REVIEWER,
  FAKE_SLACK_TOKEN,
  type FakeSlackMessage,
  useSlackFake,
} from "../fakes/slack.ts";
import { freshKey, insertTask } from "../fixtures.ts";
import { routeEvents } from "../lifecycle.ts";

const t = useTestDb();
const slack = useSlackFake();

const SECRET = "slack-signing-secret-for-tests";
const STRANGER = "U0STRANGER1";
const OTHER_PROJECT_REVIEWER = "U0ELSEWHERE";
const notifyOnly = functions.filter((f) => f.id() === "notify");

function api() {
  // Anyone who can click the notice is in its channel, and so can be told why a click was refused.
  for (const user of [STRANGER, OTHER_PROJECT_REVIEWER])
    slack.channels.get(FAKE_REVIEW_CHANNEL)?.members.add(user);
  return testApp(t.current.db, {
    SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
    SLACK_API_URL: slack.url,
    SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
    SLACK_SIGNING_SECRET: SECRET,
    FOREMAN_DRY_RUN: "false",
  });
}

async function project(db: AppDb, reviewer: string) {
  const id = newId("proj");
  await db.insert(projects).values({ id, name: id });
  await db.insert(reviewers).values({
    id: newId("rvw"),
    projectId: id,
    kind: "human",
    stage: "internal",
    name: `Reviewer ${reviewer}`,
    slackUserId: reviewer,
  });
  return id;
}

/** A task of a project reviewed by FAKE_REVIEWER that failed, and the notice notify posted for it. */
async function failedWithNotice(
  a: ReturnType<typeof api>,
  overrides: Partial<typeof tasks.$inferInsert> = {},
) {
  const db = t.current.db;
  await project(db, OTHER_PROJECT_REVIEWER);
  const task = await insertTask(db, {
    status: "working",
    title: "Backfill the deal owners",
    projectId: await project(db, FAKE_REVIEWER),
    ...overrides,
  });
  const failed = await transition(db, {
    taskId: task.id,
    to: "failed_needs_triage",
    key: freshKey(),
    actor: "fn:work",
    reason: "rate_limit: the primary tier answered 429 five times",
  });
  await publish(a.deps, failed.outbox);
  const runs = await routeEvents(notifyOnly, a.deps, a.events);
  expect(runs.map((r) => r.fn)).toEqual(["notify"]);
  const notice = slack.messages.get(FAKE_REVIEW_CHANNEL)?.[0];
  if (!notice) throw new Error("notify posted no notice");
  return { taskId: task.id, notice };
}

/** The click Slack sends for the Retry button on the notice as the fake holds it. */
function retryClick(notice: FakeSlackMessage, user: string, actionTs = `${Date.now() / 1000}`) {
  const actions = (
    notice.blocks as { type: string; block_id?: string; elements?: Record<string, string>[] }[]
  ).find((b) => b.type === "actions");
  const button = actions?.elements?.find((e) => e.action_id === "task:retry");
  if (!actions || !button) throw new Error("no Retry button on the notice");
  return {
    type: "block_actions",
    user: { id: user, team_id: "T0FAKE0001" },
    team: { id: "T0FAKE0001" },
    container: { type: "message", message_ts: notice.ts, channel_id: FAKE_REVIEW_CHANNEL },
    channel: { id: FAKE_REVIEW_CHANNEL },
    message: { ts: notice.ts },
    trigger_id: `trig.${actionTs}`,
    actions: [
      {
        type: "button",
        action_id: button.action_id,
        block_id: actions.block_id,
        value: button.value,
        action_ts: actionTs,
      },
    ],
  };
}

async function signedPost(a: ReturnType<typeof api>, payload: unknown) {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await a.app.request("/slack/interactions", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      [SIGNATURE_HEADER]: slackSignature(SECRET, ts, body),
      [TIMESTAMP_HEADER]: ts,
    },
  });
  expect(res.status).toBe(200);
  // Slack ignores a block_actions answer's body: the clicker is told by an ephemeral message.
  expect(await res.text()).toBe("");
  const user = (payload as { user: { id: string } }).user.id;
  const told = slack.ephemerals.filter((e) => e.user === user).at(-1);
  if (!told) throw new Error(`no ephemeral message for ${user}`);
  slack.ephemerals.length = 0;
  return { text: told.text, response_type: "ephemeral", channel: told.channel };
}

const taskOf = async (id: string) => (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0];
const eventsOf = async (id: string) =>
  t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, id)).orderBy(taskEvents.id);

describe("the Retry button", () => {
  it("retries the task for a listed reviewer: one transition naming who, published, the notice updated", async () => {
    const a = api();
    const { taskId, notice } = await failedWithNotice(a);
    const click = retryClick(notice, FAKE_REVIEWER);
    const answer = await signedPost(a, click);
    expect(answer).toMatchObject({
      response_type: "ephemeral",
      text: expect.stringContaining(`Retried by <@${FAKE_REVIEWER}>`),
    });

    expect((await taskOf(taskId))?.status).toBe("ready");
    const moves = (await eventsOf(taskId)).filter((e) => e.kind === "state_changed");
    expect(moves.at(-1)).toMatchObject({
      actor: `slack:${FAKE_REVIEWER}`,
      payload: {
        from: "failed_needs_triage",
        to: "ready",
        reason: `retried: in Slack by Reviewer ${FAKE_REVIEWER} (Slack user ${FAKE_REVIEWER})`,
      },
    });
    // The outbox was published within the answer: the scheduler hears of the task again.
    expect(a.events.sent.filter((e) => e.name === "task/ready").map((e) => e.data)).toEqual([{ taskId }]);

    // The notice now says who retried and when, and its button is gone; it is still the same message.
    const [update] = slack.callsTo("chat.update");
    expect(update?.body).toMatchObject({ channel: FAKE_REVIEW_CHANNEL, ts: notice.ts });
    const shown = slack.messages.get(FAKE_REVIEW_CHANNEL)?.find((m) => m.ts === notice.ts);
    expect(JSON.stringify(shown?.blocks)).toContain(`Retried by <@${FAKE_REVIEWER}>`);
    expect(JSON.stringify(shown?.blocks)).toContain("the primary tier answered 429 five times");
    expect(JSON.stringify(shown?.blocks)).not.toContain("task:retry");

    // Slack delivering the same click again is the same retry, not a second move or a refusal.
    const again = await signedPost(a, click);
    expect(again.text).toBe(answer.text);
    const after = await eventsOf(taskId);
    expect(after.filter((e) => e.kind === "state_changed")).toHaveLength(moves.length);
    expect(after.filter((e) => e.kind === "refusal")).toEqual([]);
  });

  it("refuses a non-reviewer and a reviewer of another project, audits both, and changes nothing", async () => {
    const a = api();
    const { taskId, notice } = await failedWithNotice(a);
    for (const user of [STRANGER, OTHER_PROJECT_REVIEWER]) {
      const answer = await signedPost(a, retryClick(notice, user));
      expect(answer.text).toBe(
        "Only the project's internal reviewers can retry this task. Nothing was changed.",
      );
    }
    expect((await taskOf(taskId))?.status).toBe("failed_needs_triage");
    const refusals = (await eventsOf(taskId)).filter((e) => e.kind === "refusal");
    expect(refusals.map((r) => [r.actor, r.payload])).toEqual([
      [
        `slack:${STRANGER}`,
        { what: "slack retry", reason: "not an internal reviewer of this project", team: "T0FAKE0001" },
      ],
      [
        `slack:${OTHER_PROJECT_REVIEWER}`,
        { what: "slack retry", reason: "not an internal reviewer of this project", team: "T0FAKE0001" },
      ],
    ]);
    expect(slack.callsTo("chat.update")).toEqual([]);
    expect(a.events.sent.filter((e) => e.name === "task/ready")).toEqual([]);
  });

  it("refuses a later click (another tab, a stale notice) once the task is no longer failed, saying who moved it", async () => {
    const a = api();
    const { taskId, notice } = await failedWithNotice(a);
    // Both clicks come from the notice as first shown (the update removes the button).
    const first = retryClick(notice, FAKE_REVIEWER, "1760000001.000001");
    const second = retryClick(notice, FAKE_REVIEWER, "1760000002.000002");
    await signedPost(a, first);
    const late = await signedPost(a, second);
    expect(late.text).toMatch(
      /^Nothing was changed: the task is no longer failed — it is ready \(moved by slack:U0REVIEWER1 at /,
    );
    const refusal = (await eventsOf(taskId)).find((e) => e.kind === "refusal");
    expect(refusal?.payload).toMatchObject({
      what: "slack retry",
      reason: "the task is ready, not failed_needs_triage",
    });
    expect(
      (await eventsOf(taskId)).filter((e) => e.kind === "state_changed" && e.actor.startsWith("slack:")),
    ).toHaveLength(1);
  });

  it("holds while a task it depends on is still open, as the API's retry does, naming it", async () => {
    const a = api();
    const { taskId, notice } = await failedWithNotice(a);
    const dep = await insertTask(t.current.db, { status: "working", title: "Import the contacts" });
    await t.current.db.insert(taskDependencies).values({ taskId, dependsOnId: dep.id });
    const answer = await signedPost(a, retryClick(notice, FAKE_REVIEWER));
    expect(answer.text).toContain("Nothing was changed: ");
    expect(answer.text).toContain(`${dep.id} (working)`);
    expect((await taskOf(taskId))?.status).toBe("failed_needs_triage");
    expect(a.events.sent.filter((e) => e.name === "task/ready")).toEqual([]);
    expect((await eventsOf(taskId)).filter((e) => e.kind === "refusal")).toHaveLength(1);
  });

  it("asks for a retriage of a task intake never triaged, instead of queueing it as it is", async () => {
    const a = api();
    const { taskId, notice } = await failedWithNotice(a, { status: "intake" });
    const answer = await signedPost(a, retryClick(notice, FAKE_REVIEWER));
    expect(answer.text).toContain(
      "intake never triaged this task, so it is enriched and triaged again first",
    );
    expect(await taskOf(taskId)).toMatchObject({ status: "failed_needs_triage", triagedAt: null });
    expect(a.events.sent.filter((e) => e.name === "task/ready")).toEqual([]);
    expect(a.events.sent.filter((e) => e.name === "task/retriage.requested").map((e) => e.data)).toEqual([
      expect.objectContaining({ taskId, from: "failed_needs_triage", actor: `slack:${FAKE_REVIEWER}` }),
    ]);
  });
});
