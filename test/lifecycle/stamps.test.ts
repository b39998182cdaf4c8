// The review issue's acceptance, end to end through the router: a signed HubSpot webhook becomes a
// task, it is triaged and worked, the AI reviewer fails it once, the revision passes, the internal
// card lands in Slack, a listed reviewer approves with a signed click, the client's link arrives in
// the card's thread, the client approves on the page, and the task is done — with every step in the
// event log and the review history on GET /api/tasks/:id. While a run waits, the test does what the
// people would (waits answered by the click and the link), and the run takes the event they caused.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projects, reviewers, tasks, workerLeases } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { SIGNATURE_HEADER, signatureV3, TIMESTAMP_HEADER } from "../../lib/hubspot/signature.ts";
import { newId } from "../../lib/ids.ts";
import * as slackVerify from "../../lib/slack/verify.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { toolTurn } from "../fakes/model-script.ts";
import {
  FAKE_REVIEW_CHANNEL,
  FAKE_REVIEWER,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startSlackFake,
} from "../fakes/slack.ts";
import type { WaitHandler } from "../inngest.ts";
import { routeEvents } from "../lifecycle.ts";
import { modelEnv, scriptFailThenPass, TRIAGE_ANSWER, useModelFakes } from "./script.ts";

const t = useTestDb();
const HUBSPOT_SECRET = "lifecycle-stamps-hubspot-secret";
const SLACK_SECRET = "lifecycle-stamps-slack-secret";
const fakes = useModelFakes();
let slack: FakeSlack;
beforeAll(async () => {
  slack = await startSlackFake();
});
afterAll(async () => {
  await slack?.close();
});
type Json = Record<string, any>;

describe("lifecycle: signed webhook → review fails → revision → Slack approval → client link → done", () => {
  it("goes the whole way with every step in the event log", async () => {
    const db = t.current.db;
    await db.delete(workerLeases);
    await db.insert(reviewers).values({
      id: newId("rvw"),
      kind: "human",
      stage: "internal",
      name: "Ana",
      slackUserId: FAKE_REVIEWER,
    });
    scriptFailThenPass(fakes);
    const api = testApp(db, {
      ...modelEnv(fakes),
      HUBSPOT_APP_SECRET: HUBSPOT_SECRET,
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      STAMP_LINK_KEY: "lifecycle-link-key-0123456789abcdefghij",
      FOREMAN_PUBLIC_URL: "https://foreman.example.com",
      FOREMAN_DRY_RUN: "false",
    });

    // 1. The signed webhook.
    const ticket = String(2 ** 32 + 91_000 + Math.floor(Math.random() * 1e6));
    fakes.hubspot.addTicket({
      id: ticket,
      properties: { subject: "Add a renewal date to tickets", content: "A date." },
    });
    const now = Date.now();
    const body = `[{"eventId":9,"subscriptionId":90,"portalId":62515,"appId":9,"occurredAt":${now},"subscriptionType":"ticket.creation","attemptNumber":0,"objectId":${ticket},"changeSource":"CRM_UI"}]`;
    const url = "http://localhost/webhooks/hubspot";
    const hook = await api.app.request(url, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        // Behind FOREMAN_PUBLIC_URL, HubSpot signed the public address.
        [SIGNATURE_HEADER]: signatureV3(
          HUBSPOT_SECRET,
          "POST",
          "https://foreman.example.com/webhooks/hubspot",
          body,
          String(now),
        ),
        [TIMESTAMP_HEADER]: String(now),
      },
    });
    expect(hook.status).toBe(200);

    // 2. The people, while the second review waits: the reviewer clicks Approve on the card…
    const stamped = () => api.events.sent.filter((e) => e.name === "task/stamped").at(-1);
    const approveInSlack: WaitHandler = async () => {
      const card = slack.messages.get(FAKE_REVIEW_CHANNEL)?.find((m) => m.blocks && !m.thread_ts);
      const actions = ((card?.blocks ?? []) as Json[]).find((b) => b.type === "actions") as Json;
      const button = (actions.elements as Json[]).find((e) => e.action_id === "stamp:approve") as Json;
      const payload = {
        type: "block_actions",
        user: { id: FAKE_REVIEWER, team_id: "T0FAKE0001" },
        team: { id: "T0FAKE0001" },
        container: { type: "message", message_ts: card?.ts, channel_id: FAKE_REVIEW_CHANNEL },
        channel: { id: FAKE_REVIEW_CHANNEL },
        trigger_id: "trig.lifecycle",
        actions: [
          { ...button, type: "button", block_id: actions.block_id, action_ts: `${Date.now() / 1000}` },
        ],
      };
      const form = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const ts = String(Math.floor(Date.now() / 1000));
      const res = await api.app.request("/slack/interactions", {
        method: "POST",
        body: form,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          [slackVerify.SIGNATURE_HEADER]: slackVerify.slackSignature(SLACK_SECRET, ts, form),
          [slackVerify.TIMESTAMP_HEADER]: ts,
        },
      });
      expect(res.status).toBe(200);
      return stamped();
    };
    // …and the client follows the link the team received in the card's thread.
    const approveOnThePage: WaitHandler = async () => {
      const link = slack.messages
        .get(FAKE_REVIEW_CHANNEL)
        ?.map((m) => /https:\/\/foreman\.example\.com(\/stamp\/[\w.-]+)/.exec(m.text)?.[1])
        .find(Boolean);
      expect(link).toBeDefined();
      const page = await api.app.request(link as string);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Relabelled renewal_date");
      const res = await api.app.request(link as string, {
        method: "POST",
        body: new URLSearchParams({ decision: "approve" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(201);
      return stamped();
    };
    let reviews = 0;
    const runs = await routeEvents(functions, api.deps, api.events, {
      waits: ({ fn }) =>
        fn === "review" && ++reviews === 2 ? [approveInSlack, approveOnThePage] : undefined,
    });
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    expect(runs.filter((r) => r.suspended !== undefined)).toEqual([]);
    expect(runs.filter((r) => r.fn === "review")).toHaveLength(2);

    // 3. Done, and all of it in the log and the review history.
    const [task] = await db.select().from(tasks).where(eq(tasks.sourceRef, ticket));
    expect(task).toMatchObject({ status: "done", revisionCount: 1 });
    const shown = (await (await api.request(`/api/tasks/${task?.id}?events_limit=200`)).json()) as Json;
    const moves = (shown.timeline as Json[])
      .filter((e) => e.kind === "state_changed")
      .reverse()
      .map((e) => `${e.payload.from}→${e.payload.to}`);
    expect(moves).toEqual([
      "intake→ready",
      "ready→working",
      "working→ready",
      "ready→working",
      "working→awaiting_internal_review",
      "awaiting_internal_review→awaiting_client_review",
      "awaiting_client_review→done",
    ]);
    const kinds = new Set((shown.timeline as Json[]).map((e) => e.kind));
    for (const k of ["submitted", "triage", "worker_turn", "deliverable", "review", "note"])
      expect(kinds).toContain(k);
    expect(shown.review_history.reviews.map((r: Json) => r.verdict)).toEqual(["fail", "pass"]);
    expect(shown.review_history.stamps.map((s: Json) => [s.stage, s.decision, s.via, s.by])).toEqual([
      ["internal", "approve", "slack", FAKE_REVIEWER],
      ["client", "approve", "link", "client"],
    ]);
    expect(shown.review_history).toMatchObject({ auto_revisions: 1, human_revisions: 0 });
    // The card shows the decision; the second worker run read the reviewer's feedback.
    const card = slack.messages.get(FAKE_REVIEW_CHANNEL)?.find((m) => m.blocks && !m.thread_ts);
    expect(JSON.stringify(card?.blocks)).toContain(`Approved by <@${FAKE_REVIEWER}>`);
    expect(JSON.stringify(fakes.anthropic.requests.at(-1)?.body)).toContain("Renewal date");
  });

  it("rehearses the human stages in dry-run: the card is a WOULD_DO, the stamps come through the API and the link", async () => {
    const db = t.current.db;
    await db.delete(workerLeases);
    const answers: unknown[] = [
      TRIAGE_ANSWER,
      {
        criteria: [{ criterion: "label", score: 9, pass: true, note: "ok" }],
        verdict: "pass",
        score: 9,
        feedback: "Correct.",
      },
    ];
    Object.defineProperty(fakes.local.behaviour, "json", { configurable: true, get: () => answers.shift() });
    fakes.anthropic.queue(toolTurn("submit", { markdown: "Would create renewal_date.", result: {} }));
    const api = testApp(db, {
      ...modelEnv(fakes),
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
      STAMP_LINK_KEY: "rehearsal-link-key-0123456789abcdefghijk",
      FOREMAN_DRY_RUN: "true",
    });
    const slackCallsBefore = slack.calls.length;
    const created = await api.request("/api/tasks", {
      method: "POST",
      json: { title: "Rehearse a renewal date" },
    });
    const { task } = (await created.json()) as { task: { id: string } };
    const wouldDo = async () =>
      ((await (await api.request(`/api/tasks/${task.id}?events_limit=200`)).json()) as Json).timeline.filter(
        (e: Json) => e.kind === "would_do",
      ) as Json[];
    const stamped = () => api.events.sent.filter((e) => e.name === "task/stamped").at(-1);
    // The operator stamps through the API with the hash the recorded card carries…
    const internalViaApi: WaitHandler = async () => {
      const card = (await wouldDo()).find(
        (e) => e.payload.method === "chat.postMessage" && e.payload.body.blocks,
      );
      const actions = ((card?.payload.body.blocks ?? []) as Json[]).find((b) => b.type === "actions") as Json;
      const hash = (actions.block_id as string).split(":")[2];
      const res = await api.request(`/api/tasks/${task.id}/stamps`, {
        method: "POST",
        headers: { "idempotency-key": "rehearsal-internal" },
        json: { stage: "internal", decision: "approve", deliverable_hash: hash },
      });
      expect(res.status).toBe(201);
      return stamped();
    };
    // …and the client link, recorded in the WOULD_DO message, still works.
    const clientViaLink: WaitHandler = async () => {
      const texts = (await wouldDo()).map((e) => String(e.payload.body.text ?? ""));
      const path = texts.map((x) => /(\/stamp\/[\w.-]+)/.exec(x)?.[1]).find(Boolean);
      expect(path).toBeDefined();
      const res = await api.app.request(path as string, {
        method: "POST",
        body: new URLSearchParams({ decision: "approve" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(201);
      return stamped();
    };
    const runs = await routeEvents(functions, api.deps, api.events, {
      waits: ({ fn }) => (fn === "review" ? [internalViaApi, clientViaLink] : undefined),
    });
    expect(runs.filter((r) => r.error !== undefined || r.suspended !== undefined)).toEqual([]);
    const [row] = await db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.status).toBe("done");
    expect(slack.calls.length).toBe(slackCallsBefore);
    expect((await wouldDo()).map((e) => e.payload.method)).toEqual(
      expect.arrayContaining(["chat.postMessage", "chat.update"]),
    );
  });

  it("passes at the first review, the client approves through the link, and the dependent is promoted", async () => {
    const db = t.current.db;
    await db.delete(workerLeases);
    const triage = {
      worker: "crm-setup",
      priority: "P2",
      rubric: ["The property exists"],
      internal_stamp_required: false,
      reason: "CRM property work",
    };
    const pass = {
      criteria: [{ criterion: "exists", score: 9, pass: true, note: "ok" }],
      verdict: "pass",
      score: 9,
      feedback: "Done right.",
    };
    // Answer by what was asked: the schema name of the last request says triage or review.
    Object.defineProperty(fakes.local.behaviour, "json", {
      configurable: true,
      get: () => {
        const last = fakes.local.requests.at(-1) as { response_format?: { json_schema?: { name?: string } } };
        return last?.response_format?.json_schema?.name === "review" ? pass : triage;
      },
    });
    fakes.anthropic.queue(
      toolTurn("submit", { markdown: "Would create renewal_date.", result: {} }),
      toolTurn("submit", { markdown: "Would label it.", result: {} }),
    );
    const api = testApp(db, {
      ...modelEnv(fakes),
      STAMP_LINK_KEY: "dependent-link-key-0123456789abcdefghijk",
      FOREMAN_DRY_RUN: "true",
    });
    // A project without internal stamps: work that passes review goes straight to the client.
    await db
      .insert(projects)
      .values({ id: "proj_client_only", name: "Client stamps only", requiresInternalStamp: false })
      .onConflictDoNothing();
    const first = (await (
      await api.request("/api/tasks", {
        method: "POST",
        json: { title: "Create the renewal date", project: "proj_client_only" },
      })
    ).json()) as { task: { id: string } };
    const second = (await (
      await api.request("/api/tasks", {
        method: "POST",
        json: { title: "Label the renewal date", project: "proj_client_only", depends_on: [first.task.id] },
      })
    ).json()) as { task: { id: string } };
    const linkApproval: WaitHandler = async () => {
      const shown = (await (
        await api.request(`/api/tasks/${first.task.id}?events_limit=200`)
      ).json()) as Json;
      const path = (shown.timeline as Json[])
        .filter((e) => e.kind === "would_do")
        .map((e) => /(\/stamp\/[\w.-]+)/.exec(String(e.payload.body?.text ?? ""))?.[1])
        .find(Boolean);
      const res = await api.app.request(path as string, {
        method: "POST",
        body: new URLSearchParams({ decision: "approve" }).toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(201);
      return api.events.sent.filter((e) => e.name === "task/stamped").at(-1);
    };
    let reviews = 0;
    const runs = await routeEvents(functions, api.deps, api.events, {
      // The first task's review gets the client's approval; the dependent's review is left waiting.
      waits: ({ fn }) => (fn === "review" && ++reviews === 1 ? [linkApproval] : undefined),
    });
    expect(runs.filter((r) => r.error !== undefined)).toEqual([]);
    const status = async (id: string) => (await db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
    expect(await status(first.task.id)).toBe("done");
    const moves = (
      (await (await api.request(`/api/tasks/${second.task.id}?events_limit=200`)).json()) as Json
    ).timeline
      .filter((e: Json) => e.kind === "state_changed")
      .reverse()
      .map((e: Json) => `${e.payload.from}→${e.payload.to}`);
    // Promoted once its dependency was done, then worked and reviewed in its turn.
    expect(moves.slice(0, 3)).toEqual(["intake→ready", "ready→working", "working→awaiting_client_review"]);
    expect(runs.find((r) => r.fn === "review" && r.taskId === second.task.id)?.suspended).toBe(
      "client:wait:remind:0",
    );
  });
});
