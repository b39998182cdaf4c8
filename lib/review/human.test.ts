// The human stages' Slack messages carry the task's title, which comes from people and the CRM (a
// HubSpot ticket subject): it is shown as text, in the blocks and in the fallback `text` Slack shows in
// notifications, so a subject cannot ping the channel or put a forged link beside the client's real one.
import { describe, expect, it } from "vitest";
import { useTestDb } from "../../test/db.ts";
import { testDeps } from "../../test/deps.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_TOKEN, useSlackFake } from "../../test/fakes/slack.ts";
import { freshKey, submittedDeliverable } from "../../test/fixtures.ts";
import { transition } from "../tasks/transition.ts";
import { announceClient, announceInternal } from "./human.ts";
import { readStageEntry } from "./stamp-wait.ts";

const t = useTestDb();
const slack = useSlackFake();

const HOSTILE = "Fix <!channel> <https://evil.example/stamp/x|open the review page> & co";

describe("announcing a human stage", () => {
  it("escapes the title in the review card's fallback text and in the client link message", async () => {
    const db = t.current.db;
    const { deps } = testDeps(db, {
      FOREMAN_DRY_RUN: "false",
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
      STAMP_LINK_KEY: "k".repeat(40),
      FOREMAN_PUBLIC_URL: "https://foreman.example.com",
    });
    const s = await submittedDeliverable(db, { task: { title: HOSTILE, workerId: null } });
    await transition(db, {
      taskId: s.taskId,
      to: "awaiting_internal_review",
      key: freshKey(),
      actor: "test",
    });
    await announceInternal(deps, { taskId: s.taskId, stage: "internal", deliverableHash: s.hash });
    // The card's buttons name its round of review: the stage entry it was posted for.
    const entry = await readStageEntry(db, { taskId: s.taskId, stage: "internal" });
    const card = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).find((m) =>
      String(m.text).startsWith("Review needed:"),
    );
    expect(JSON.stringify(card?.blocks)).toContain(
      JSON.stringify(JSON.stringify({ taskId: s.taskId, hash: s.hash, round: entry?.eventId })).slice(1, -1),
    );
    await transition(db, { taskId: s.taskId, to: "awaiting_client_review", key: freshKey(), actor: "test" });
    await announceClient(
      deps,
      { taskId: s.taskId, stage: "client", deliverableHash: s.hash },
      { seed: `t:${s.taskId}`, now: new Date() },
    );
    const posted = (slack.messages.get(FAKE_REVIEW_CHANNEL) ?? []).filter(
      (m) => JSON.stringify(m).includes(s.taskId.slice(-8)) || String(m.text).includes("&lt;!channel&gt;"),
    );
    const texts = posted.map((m) => String(m.text));
    expect(texts.some((x) => x.startsWith("Review needed:"))).toBe(true);
    expect(texts.some((x) => x.startsWith("Client review for"))).toBe(true);
    // Every string Slack reads as mrkdwn: the top-level text and each mrkdwn text object (a header's
    // plain_text shows the title as it is, which Slack never parses).
    const mrkdwn: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o.type === "mrkdwn" && typeof o.text === "string") mrkdwn.push(o.text);
        Object.values(o).forEach(walk);
      }
    };
    for (const m of posted) {
      mrkdwn.push(String(m.text));
      walk(m.blocks);
    }
    expect(mrkdwn.length).toBeGreaterThan(3);
    for (const x of mrkdwn) {
      expect(x).not.toContain("<!channel>");
      expect(x).not.toContain("<https://evil.example");
    }
    const link = texts.find((x) => x.startsWith("Client review for")) ?? "";
    expect(link).toContain("&lt;https://evil.example/stamp/x|open the review page&gt; &amp; co");
    // The real link is still a link.
    expect(link).toMatch(/<https:\/\/foreman\.example\.com\/stamp\/[^|]+\|open the review page>/);
  });
});
