// The Slack fake's wire behaviour that the WebClient tests (lib/slack/client.test.ts) do not reach:
// raw status codes and headers, JSON bodies, the token in a form field, and the refusals other code
// relies on the fake making (no_text, not_in_channel, bad blocks, someone else's message).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FAKE_REVIEW_CHANNEL, type FakeSlack, startSlackFake } from "./slack.ts";

let fake: FakeSlack;
beforeEach(async () => {
  fake = await startSlackFake();
});
afterEach(async () => {
  await fake.close();
});

async function call(
  method: string,
  body: Record<string, unknown>,
  how: "form" | "json" = "json",
  token = fake.token,
) {
  const res = await fetch(`${fake.url}${method}`, {
    method: "POST",
    headers: {
      ...(token && how === "json" ? { authorization: `Bearer ${token}` } : {}),
      "content-type":
        how === "json" ? "application/json; charset=utf-8" : "application/x-www-form-urlencoded",
    },
    body:
      how === "json"
        ? JSON.stringify(body)
        : new URLSearchParams(
            Object.entries({ ...body, ...(token ? { token } : {}) }).map(([k, v]) => [
              k,
              typeof v === "string" ? v : JSON.stringify(v),
            ]),
          ).toString(),
  });
  return {
    status: res.status,
    headers: res.headers,
    json: (await res.json().catch(() => undefined)) as Record<string, unknown>,
  };
}

describe("the Slack fake", () => {
  it("takes JSON bodies with structured blocks, and a form body with the token as a field", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "hi" } }];
    const viaJson = await call("chat.postMessage", { channel: FAKE_REVIEW_CHANNEL, text: "a", blocks });
    expect(viaJson.status).toBe(200);
    expect(viaJson.json).toMatchObject({
      ok: true,
      channel: FAKE_REVIEW_CHANNEL,
      message: { type: "message", blocks },
    });
    const viaForm = await call(
      "chat.postMessage",
      { channel: FAKE_REVIEW_CHANNEL, text: "b", blocks },
      "form",
    );
    expect(viaForm.json.ok).toBe(true);
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)?.map((m) => m.blocks)).toEqual([blocks, blocks]);
  });

  it("puts the token's scopes in x-oauth-scopes, comma-separated, on authenticated answers only", async () => {
    fake.setScopes(["chat:write", "groups:read"]);
    const ok = await call("auth.test", {});
    expect(ok.headers.get("x-oauth-scopes")).toBe("chat:write,groups:read");
    const bad = await call("auth.test", {}, "json", "xoxb-wrong");
    expect(bad).toMatchObject({ status: 200, json: { ok: false, error: "invalid_auth" } });
    expect(bad.headers.get("x-oauth-scopes")).toBeNull();
    expect((await call("auth.test", {}, "json", "")).json.error).toBe("not_authed");
  });

  it("answers missing_scope with needed, provided and x-accepted-oauth-scopes", async () => {
    fake.setScopes(["channels:read"]);
    const r = await call("chat.update", { channel: FAKE_REVIEW_CHANNEL, ts: "1.000001", text: "x" });
    expect(r.json).toEqual({
      ok: false,
      error: "missing_scope",
      needed: "chat:write",
      provided: "channels:read",
    });
    expect(r.headers.get("x-accepted-oauth-scopes")).toBe("chat:write");
  });

  it("an unknown method is a 404 unknown_method; a 429 fault carries Retry-After once", async () => {
    expect(await call("chat.scheduleMessage", {})).toMatchObject({
      status: 404,
      json: { ok: false, error: "unknown_method" },
    });
    fake.failNext("auth.test", { status: 429, retryAfterS: 7 });
    const limited = await call("auth.test", {});
    expect(limited).toMatchObject({ status: 429, json: { ok: false, error: "ratelimited" } });
    expect(limited.headers.get("retry-after")).toBe("7");
    expect((await call("auth.test", {})).status).toBe(200);
  });

  it("an error fault answers HTTP 200 with Slack's error and extra fields", async () => {
    fake.failNext("chat.postMessage", { error: "restricted_action", extra: { warning: "w" } });
    expect((await call("chat.postMessage", { channel: FAKE_REVIEW_CHANNEL, text: "x" })).json).toEqual({
      ok: false,
      error: "restricted_action",
      warning: "w",
    });
    expect(fake.messages.size).toBe(0);
  });

  it("refuses what Slack refuses: no text, bad blocks, a channel without the bot, an archived one", async () => {
    const post = async (body: Record<string, unknown>) =>
      (await call("chat.postMessage", body, "form")).json.error;
    expect(await post({ channel: FAKE_REVIEW_CHANNEL })).toBe("no_text");
    expect(await post({ channel: FAKE_REVIEW_CHANNEL, blocks: "[not json" })).toBe("invalid_blocks_format");
    expect(await post({ channel: FAKE_REVIEW_CHANNEL, blocks: [{ text: "no type" }] })).toBe(
      "invalid_blocks",
    );
    fake.addChannel({ id: "C0ELSEWHERE", name: "elsewhere", members: ["U0SOMEONE1"] });
    expect(await post({ channel: "C0ELSEWHERE", text: "x" })).toBe("not_in_channel");
    fake.addChannel({ id: "C0ARCHIVED1", name: "old", isArchived: true });
    expect(await post({ channel: "C0ARCHIVED1", text: "x" })).toBe("is_archived");
    expect(fake.messages.size).toBe(0);
  });

  it("chat.update edits only the bot's own messages, and an empty block list removes the blocks", async () => {
    fake.messages.set(FAKE_REVIEW_CHANNEL, [
      { ts: "1700000000.000001", text: "a human", user: "U0SOMEONE1" },
    ]);
    const human = await call("chat.update", {
      channel: FAKE_REVIEW_CHANNEL,
      ts: "1700000000.000001",
      text: "x",
    });
    expect(human.json.error).toBe("cant_update_message");

    const blocks = [{ type: "divider" }];
    const posted = await call("chat.postMessage", { channel: FAKE_REVIEW_CHANNEL, text: "card", blocks });
    const ts = posted.json.ts as string;
    const updated = await call("chat.update", {
      channel: FAKE_REVIEW_CHANNEL,
      ts,
      text: "Approved",
      blocks: [],
    });
    expect(updated.json).toMatchObject({ ok: true, channel: FAKE_REVIEW_CHANNEL, ts, text: "Approved" });
    expect(fake.messages.get(FAKE_REVIEW_CHANNEL)?.find((m) => m.ts === ts)?.blocks).toBeUndefined();
  });

  it("records every call with its method and arguments as received", async () => {
    await call(
      "chat.postMessage",
      { channel: FAKE_REVIEW_CHANNEL, text: "x", blocks: [{ type: "divider" }] },
      "form",
    );
    expect(fake.callsTo("chat.postMessage")).toEqual([
      {
        method: "chat.postMessage",
        body: { channel: FAKE_REVIEW_CHANNEL, text: "x", blocks: '[{"type":"divider"}]', token: fake.token },
        contentType: "application/x-www-form-urlencoded",
        at: expect.any(Number),
      },
    ]);
  });
});
