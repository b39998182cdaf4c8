// The real Slack client (official WebClient) against the Slack fake: each call's wire shape and what
// lands in Slack, and how each Slack failure becomes a DomainError (what is retried, what is config).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FAKE_REVIEW_CHANNEL,
  FAKE_REVIEWER,
  FAKE_SLACK_BOT,
  FAKE_SLACK_TEAM,
  type FakeSlack,
  startSlackFake,
} from "../../test/fakes/slack.ts";
import { DomainError } from "../errors.ts";
import { createSlackClient, type SlackClient } from "./client.ts";

let fake: FakeSlack;
let slack: SlackClient;

beforeEach(async () => {
  fake = await startSlackFake();
  slack = createSlackClient({ token: fake.token, apiUrl: fake.url, retries: 0 });
});
afterEach(async () => {
  await fake.close();
});

const card = [
  { type: "section", text: { type: "mrkdwn", text: "*Review* `task_01`" } },
  {
    type: "actions",
    block_id: "stamp:task_01:abc",
    elements: [
      {
        type: "button",
        action_id: "stamp:approve",
        style: "primary",
        text: { type: "plain_text", text: "Approve" },
        value: '{"taskId":"task_01","hash":"abc"}',
      },
    ],
  },
];

/** The DomainError a call rejects with (fails the test if it resolves or throws something else). */
async function refusal(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe("createSlackClient against the Slack fake", () => {
  it("posts a card: the exact blocks land in the channel, form-encoded with the bearer token", async () => {
    const posted = await slack.postMessage({
      channel: FAKE_REVIEW_CHANNEL,
      text: "Review needed",
      blocks: card,
    });
    expect(posted.channel).toBe(FAKE_REVIEW_CHANNEL);
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const landed = fake.messages.get(FAKE_REVIEW_CHANNEL);
    expect(landed).toEqual([
      {
        ts: posted.ts,
        text: "Review needed",
        blocks: card,
        user: FAKE_SLACK_BOT.userId,
        bot_id: FAKE_SLACK_BOT.botId,
      },
    ]);
    const [call] = fake.callsTo("chat.postMessage");
    expect(call?.contentType).toBe("application/x-www-form-urlencoded");
    expect(call?.body.unfurl_links).toBe("false");
    expect(call?.body.token).toBeUndefined(); // sent as a header, never in the body
  });

  it("replies in a thread with thread_ts, and successive posts get increasing ts", async () => {
    const parent = await slack.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "card" });
    const reply = await slack.postMessage({
      channel: FAKE_REVIEW_CHANNEL,
      text: "Reminder",
      threadTs: parent.ts,
    });
    expect(Number(reply.ts)).toBeGreaterThan(Number(parent.ts));
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)?.[1]).toMatchObject({
      text: "Reminder",
      thread_ts: parent.ts,
    });
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)?.[0]?.thread_ts).toBeUndefined();
  });

  it("updates a posted message in place: new text, new blocks, same ts", async () => {
    const posted = await slack.postMessage({
      channel: FAKE_REVIEW_CHANNEL,
      text: "Review needed",
      blocks: card,
    });
    const decided = [{ type: "section", text: { type: "mrkdwn", text: "Approved by <@U1>" } }];
    await slack.updateMessage({
      channel: FAKE_REVIEW_CHANNEL,
      ts: posted.ts,
      text: "Approved",
      blocks: decided,
    });
    const [message] = fake.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
    expect(message).toMatchObject({ ts: posted.ts, text: "Approved", blocks: decided });
    expect(message?.edited?.user).toBe(FAKE_SLACK_BOT.userId);
  });

  it("updating a message that does not exist is message_not_found, not retried", async () => {
    const err = await refusal(
      slack.updateMessage({ channel: FAKE_REVIEW_CHANNEL, ts: "1700000000.000001", text: "x" }),
    );
    expect(err.details?.slackError).toBe("message_not_found");
    expect(err.retryable).toBe(false);
  });

  it("posts an ephemeral to one member, and refuses one who is not in the channel", async () => {
    await slack.postEphemeral({
      channel: FAKE_REVIEW_CHANNEL,
      user: FAKE_REVIEWER,
      text: "Only listed reviewers may stamp.",
    });
    expect(fake.ephemerals).toEqual([
      {
        channel: FAKE_REVIEW_CHANNEL,
        user: FAKE_REVIEWER,
        text: "Only listed reviewers may stamp.",
        message_ts: expect.stringMatching(/^\d{10}\.\d{6}$/),
      },
    ]);
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)).toBeUndefined(); // ephemerals are not channel messages

    const err = await refusal(
      slack.postEphemeral({ channel: FAKE_REVIEW_CHANNEL, user: "U0STRANGER1", text: "no" }),
    );
    expect(err.details?.slackError).toBe("user_not_in_channel");
    expect(err.retryable).toBe(false);
  });

  it("opens a modal with the exact view, and reports a missing or expired trigger as permanent", async () => {
    const view = {
      type: "modal",
      callback_id: "stamp:changes",
      private_metadata: '{"taskId":"task_01","hash":"abc"}',
      title: { type: "plain_text", text: "Request changes" },
      submit: { type: "plain_text", text: "Send" },
      blocks: [
        {
          type: "input",
          block_id: "note",
          label: { type: "plain_text", text: "What should change?" },
          element: { type: "plain_text_input", action_id: "stamp:note", multiline: true, max_length: 3000 },
        },
      ],
    };
    await slack.openView({ triggerId: "1234.5678.abcd", view });
    expect(fake.views).toEqual([{ id: expect.stringMatching(/^V/), trigger_id: "1234.5678.abcd", view }]);

    const missing = await refusal(slack.openView({ triggerId: "", view }));
    expect(missing.details?.slackError).toBe("invalid_arguments");
    expect(missing.retryable).toBe(false);

    fake.expiredTriggers.add("old.trigger");
    const expired = await refusal(slack.openView({ triggerId: "old.trigger", view }));
    expect(expired.details?.slackError).toBe("expired_trigger_id");
    expect(expired.retryable).toBe(false); // the same trigger never becomes valid again
    expect(fake.views).toHaveLength(1);
  });

  it("channel_not_found is an UPSTREAM DomainError that is not retried and names Slack's error", async () => {
    const err = await refusal(slack.postMessage({ channel: "C0NOSUCH001", text: "hello" }));
    expect(err.code).toBe("UPSTREAM");
    expect(err.retryable).toBe(false);
    expect(err.details).toEqual({ slackError: "channel_not_found" });
    expect(err.message).toContain("chat.postMessage");
    expect(fake.messages.size).toBe(0);
  });

  it("a wrong token is a CONFIG error (invalid_auth), a missing one too (not_authed)", async () => {
    const wrong = createSlackClient({ token: "xoxb-wrong", apiUrl: fake.url, retries: 0 });
    const err = await refusal(wrong.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "hello" }));
    expect(err.code).toBe("CONFIG");
    expect(err.retryable).toBe(false);
    expect(err.details?.slackError).toBe("invalid_auth");

    const none = createSlackClient({ token: "", apiUrl: fake.url, retries: 0 });
    const err2 = await refusal(none.authTest());
    expect(err2.code).toBe("CONFIG");
    expect(err2.details?.slackError).toBe("not_authed");
    expect(fake.messages.size).toBe(0);
  });

  it("a 429 with Retry-After 7 is RATE_LIMITED with retryAfterMs 7000, surfaced after one call", async () => {
    fake.failNext("chat.postMessage", { status: 429, retryAfterS: 7 });
    const started = Date.now();
    const err = await refusal(slack.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "hello" }));
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.retryAfterMs).toBe(7000);
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000); // not waited out in-process: the caller retries durably
    expect(fake.callsTo("chat.postMessage")).toHaveLength(1);
    // The fault was one-shot: the next call goes through.
    await slack.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "hello" });
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)).toHaveLength(1);
  });

  it("a 429 is surfaced even with retries configured (rejectRateLimitedCalls)", async () => {
    const retrying = createSlackClient({ token: fake.token, apiUrl: fake.url, retries: 2 });
    fake.failNext("chat.update", { status: 429, retryAfterS: 30 });
    const err = await refusal(
      retrying.updateMessage({ channel: FAKE_REVIEW_CHANNEL, ts: "1.000001", text: "x" }),
    );
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.retryAfterMs).toBe(30_000);
    expect(fake.callsTo("chat.update")).toHaveLength(1);
  });

  it("a 500 is retryable UPSTREAM; with retries it is retried and then succeeds", async () => {
    fake.failNext("chat.postMessage", { status: 500 });
    const err = await refusal(slack.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "hello" }));
    expect(err.code).toBe("UPSTREAM");
    expect(err.retryable).toBe(true);

    const retrying = createSlackClient({ token: fake.token, apiUrl: fake.url, retries: 1 });
    fake.failNext("chat.postMessage", { status: 500 });
    await retrying.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "second try" });
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)?.map((m) => m.text)).toEqual(["second try"]);
    expect(fake.callsTo("chat.postMessage")).toHaveLength(3);
  });

  it("missing_scope says which scope is needed, is a CONFIG error, and posts nothing", async () => {
    fake.setScopes(["channels:read", "groups:read"]);
    const err = await refusal(slack.postMessage({ channel: FAKE_REVIEW_CHANNEL, text: "hello" }));
    expect(err.message).toContain("missing_scope");
    expect(err.message).toContain("needs chat:write");
    expect(err.code).toBe("CONFIG");
    expect(err.retryable).toBe(false);
    expect(fake.messages.size).toBe(0);
  });

  it("authTest returns the workspace, the bot and the token's scopes from x-oauth-scopes", async () => {
    fake.setScopes(["chat:write", "groups:read", "channels:read", "commands"]);
    expect(await slack.authTest()).toEqual({
      teamId: FAKE_SLACK_TEAM.id,
      team: FAKE_SLACK_TEAM.name,
      userId: FAKE_SLACK_BOT.userId,
      user: FAKE_SLACK_BOT.name,
      botId: FAKE_SLACK_BOT.botId,
      scopes: ["chat:write", "groups:read", "channels:read", "commands"],
    });
    fake.setScopes([]);
    expect((await slack.authTest()).scopes).toEqual([]);
  });

  it("channelInfo reports membership and archival; a private channel without the bot is not found", async () => {
    expect(await slack.channelInfo(FAKE_REVIEW_CHANNEL)).toEqual({
      id: FAKE_REVIEW_CHANNEL,
      name: "foreman-review",
      isMember: true,
      isArchived: false,
    });
    fake.addChannel({ id: "C0OLD000001", name: "old-reviews", isArchived: true, members: [] });
    expect(await slack.channelInfo("C0OLD000001")).toMatchObject({ isMember: false, isArchived: true });

    fake.addChannel({ id: "G0PRIVATE01", name: "secret", isPrivate: true, members: [FAKE_REVIEWER] });
    const err = await refusal(slack.channelInfo("G0PRIVATE01"));
    expect(err.details?.slackError).toBe("channel_not_found");
  });

  it("channelInfo needs channels:read, and groups:read for a private channel", async () => {
    fake.addChannel({ id: "G0PRIVATE02", name: "private-reviews", isPrivate: true });
    fake.setScopes(["chat:write", "channels:read"]);
    const priv = await refusal(slack.channelInfo("G0PRIVATE02"));
    expect(priv.message).toContain("needs groups:read");
    expect(await slack.channelInfo(FAKE_REVIEW_CHANNEL)).toMatchObject({ name: "foreman-review" });
    fake.setScopes(["chat:write", "groups:read"]);
    expect(await slack.channelInfo("G0PRIVATE02")).toMatchObject({ name: "private-reviews", isMember: true });
    const pub = await refusal(slack.channelInfo(FAKE_REVIEW_CHANNEL));
    expect(pub.message).toContain("needs channels:read");
  });
});
