// Interaction payloads shaped like the ones Slack sends (fields from api.slack.com/reference/
// interaction-payloads, trimmed), form-encoded the way Slack does it.
import { describe, expect, it } from "vitest";
import { parseInteraction, payloadJson, type StampAction } from "./payload.ts";

const TASK = "task_01jz8k3m4n5p6q7r8s9t0v1w2x";
const HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const REF = JSON.stringify({ taskId: TASK, hash: HASH });
const RESPONSE_URL = "https://hooks.slack.com/actions/T0001/12345/abcDEF";

/** Form-encodes like Slack: URLSearchParams writes spaces as `+`. */
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

/** `value: null` is a button without a value. */
const button = (actionId: string, value: string | null = REF, blockId = `stamp:${TASK}:${HASH}`) => ({
  type: "button",
  action_id: actionId,
  block_id: blockId,
  text: { type: "plain_text", text: "Approve", emoji: true },
  ...(value === null ? {} : { value }),
  style: "primary",
  action_ts: "1760000001.123456",
});

const fromMessage = (a: unknown = button("stamp:approve")) => ({
  type: "block_actions",
  user: { id: "U0REVIEW", username: "ana", name: "ana", team_id: "T0001" },
  api_app_id: "A0APP",
  token: "verification-token-unused",
  container: {
    type: "message",
    message_ts: "1760000000.000100",
    channel_id: "C0REVIEW",
    is_ephemeral: false,
  },
  trigger_id: "1111.2222.abcd",
  team: { id: "T0001", domain: "acme" },
  enterprise: null,
  is_enterprise_install: false,
  channel: { id: "C0REVIEW", name: "reviews" },
  message: { type: "message", ts: "1760000000.000100", text: "Review needed", blocks: [] },
  state: { values: {} },
  response_url: RESPONSE_URL,
  actions: [a],
});

const action = (raw: string): StampAction => {
  const r = parseInteraction(raw);
  if (!r.ok || !("action" in r)) throw new Error(`expected an action, got ${JSON.stringify(r)}`);
  return r.action;
};
const outcome = (raw: string) => {
  const r = parseInteraction(raw);
  return r.ok ? ("action" in r ? r.action.kind : "ignored") : r.problem;
};

describe("block_actions", () => {
  it("normalises an approve click on a channel message", () => {
    expect(action(form(fromMessage()))).toEqual({
      kind: "approve",
      taskId: TASK,
      deliverableHash: HASH,
      userId: "U0REVIEW",
      teamId: "T0001",
      idempotencyKey: "slack:T0001:U0REVIEW:1760000001.123456",
      surface: "message",
      actionTs: "1760000001.123456",
      triggerId: "1111.2222.abcd",
      responseUrl: RESPONSE_URL,
      channelId: "C0REVIEW",
      messageTs: "1760000000.000100",
    });
  });

  it("maps the three buttons, and needs a trigger_id to open the changes modal", () => {
    expect(outcome(form(fromMessage(button("stamp:reject"))))).toBe("reject");
    expect(outcome(form(fromMessage(button("stamp:changes"))))).toBe("open_changes_modal");
    const noTrigger = { ...fromMessage(button("stamp:changes")), trigger_id: undefined };
    expect(outcome(form(noTrigger))).toBe("malformed_payload");
  });

  it("decodes + as a space and percent-escapes inside the JSON", () => {
    const raw = `payload=${encodeURIComponent(JSON.stringify(fromMessage())).replaceAll("%20", "+")}`;
    expect(raw).toContain("+");
    expect(action(raw).taskId).toBe(TASK);
    const withPlus = form({ ...fromMessage(), message: { ts: "1760000000.000100", text: "a + b = c" } });
    expect(withPlus).toContain("a+%2B+b");
    expect(outcome(withPlus)).toBe("approve");
  });

  it("takes a button's reference from its block_id when the button carries no value", () => {
    const a = action(form(fromMessage(button("stamp:approve", null))));
    expect([a.taskId, a.deliverableHash]).toEqual([TASK, HASH]);
    expect(outcome(form(fromMessage(button("stamp:approve", null, "actions-1"))))).toBe("bad_reference");
  });

  it("refuses a value or block_id that does not name a task and a deliverable hash", () => {
    for (const value of [
      "",
      "approve",
      `${TASK}:${HASH}`,
      JSON.stringify({ taskId: TASK }),
      JSON.stringify({ taskId: "proj_01jz8k3m4n5p6q7r8s9t0v1w2x", hash: HASH }),
      JSON.stringify({ taskId: TASK, hash: HASH.toUpperCase() }),
      JSON.stringify({ taskId: TASK, hash: HASH.slice(1) }),
    ]) {
      expect(outcome(form(fromMessage(button("stamp:approve", value)))), value).toBe("bad_reference");
    }
    // A value that is present wins over the block_id (no silent fallback from a bad value).
    expect(outcome(form(fromMessage(button("stamp:approve", "junk"))))).toBe("bad_reference");
  });

  it("accepts a click on a legacy attachment (container message_attachment)", () => {
    const p = {
      ...fromMessage(),
      container: {
        type: "message_attachment",
        message_ts: "1760000000.000200",
        attachment_id: 1,
        channel_id: "C0REVIEW",
        is_ephemeral: false,
        is_app_unfurl: false,
      },
    };
    const a = action(form(p));
    expect([a.surface, a.channelId, a.messageTs]).toEqual([
      "message_attachment",
      "C0REVIEW",
      "1760000000.000200",
    ]);
  });

  it("accepts a click in the App Home tab: no channel, message or response_url", () => {
    const p = {
      type: "block_actions",
      user: { id: "U0REVIEW", username: "ana", team_id: "T0001" },
      api_app_id: "A0APP",
      container: { type: "view", view_id: "V0HOME" },
      trigger_id: "3333.4444.efgh",
      team: { id: "T0001", domain: "acme" },
      view: { id: "V0HOME", team_id: "T0001", type: "home", blocks: [], private_metadata: "", hash: "h1" },
      actions: [button("stamp:approve")],
    };
    const a = action(form(p));
    expect(a.surface).toBe("view");
    expect(a.channelId).toBeUndefined();
    expect(a.messageTs).toBeUndefined();
    expect(a.responseUrl).toBeUndefined();
    expect(a.kind).toBe("approve");
  });

  it("takes the team from user.team_id or view.team_id when team is null (org-wide installs)", () => {
    expect(action(form({ ...fromMessage(), team: null })).teamId).toBe("T0001");
    const p = {
      ...fromMessage(),
      team: null,
      user: { id: "U0REVIEW" },
      view: { id: "V1", team_id: "T0009" },
    };
    expect(action(form(p)).teamId).toBe("T0009");
    expect(outcome(form({ ...fromMessage(), team: null, user: { id: "U0REVIEW" } }))).toBe(
      "malformed_payload",
    );
  });

  it("falls back to the message's ts and the container's channel", () => {
    const p = { ...fromMessage(), channel: undefined, container: { type: "message", channel_id: "C0OTHER" } };
    const a = action(form(p));
    expect([a.channelId, a.messageTs]).toEqual(["C0OTHER", "1760000000.000100"]);
  });

  it("ignores clicks that are not stamps (a link button has no value), and other payload types", () => {
    const link = { type: "button", action_id: "open:output", block_id: "links", url: "https://x.example" };
    expect(parseInteraction(form(fromMessage(link)))).toEqual({
      ok: true,
      ignored: "action open:output is not a stamp",
    });
    expect(outcome(form({ type: "view_closed", user: { id: "U1" }, view: { id: "V1" } }))).toBe("ignored");
    expect(outcome(form({ type: "shortcut", callback_id: "x" }))).toBe("ignored");
    expect(outcome(form({ user: { id: "U1" } }))).toBe("ignored");
  });

  it("refuses block_actions missing what Slack always sends", () => {
    const base = fromMessage();
    for (const p of [
      { ...base, user: undefined },
      { ...base, user: { id: "" } },
      { ...base, actions: [] },
      { ...base, actions: undefined },
      { ...base, container: { type: "dialog" } },
      { ...base, container: undefined },
      { ...base, response_url: "not a url" },
      { ...base, response_url: "http://hooks.slack.com/actions/T0001/1/a" },
      { ...base, response_url: "https://hooks.slack.com.evil.example/actions/T0001/1/a" },
      { ...base, response_url: "https://169.254.169.254/latest/meta-data" },
      { ...base, actions: [{ ...button("stamp:approve"), action_id: 7 }] },
    ]) {
      expect(outcome(form(p))).toBe("malformed_payload");
    }
    const noIds = {
      ...base,
      trigger_id: undefined,
      actions: [{ ...button("stamp:approve"), action_ts: undefined }],
    };
    expect(outcome(form(noIds))).toBe("malformed_payload");
    const r = parseInteraction(form({ ...base, actions: [] }));
    expect(r.ok ? "" : r.reason).toMatch(/^The interaction payload is not one Slack sends: actions/);
  });
});

describe("view_submission (the request-changes modal)", () => {
  const meta = { taskId: TASK, hash: HASH, channelId: "C0REVIEW", messageTs: "1760000000.000100" };
  const submission = (
    over: Record<string, unknown> = {},
    note: string | null = "Please cite the source",
  ) => ({
    type: "view_submission",
    team: { id: "T0001", domain: "acme" },
    user: { id: "U0REVIEW", username: "ana", name: "ana", team_id: "T0001" },
    api_app_id: "A0APP",
    token: "unused",
    trigger_id: "5555.6666.ijkl",
    view: {
      id: "V0MODAL",
      team_id: "T0001",
      type: "modal",
      callback_id: "stamp:changes",
      private_metadata: JSON.stringify(meta),
      state: { values: { "b-regenerated": { "stamp:note": { type: "plain_text_input", value: note } } } },
      hash: "156772938.1827394",
    },
    is_enterprise_install: false,
    enterprise: null,
    ...over,
  });

  it("normalises a submission with no response_urls (the message travels in private_metadata)", () => {
    expect(action(form(submission()))).toEqual({
      kind: "request_changes",
      taskId: TASK,
      deliverableHash: HASH,
      userId: "U0REVIEW",
      teamId: "T0001",
      idempotencyKey: "slack:T0001:U0REVIEW:view:V0MODAL",
      surface: "modal_submission",
      note: "Please cite the source",
      triggerId: "5555.6666.ijkl",
      channelId: "C0REVIEW",
      messageTs: "1760000000.000100",
    });
  });

  it("takes the response_url from response_urls when present, else from private_metadata", () => {
    const urls = [{ block_id: "b", action_id: "c", channel_id: "C0PICKED", response_url: RESPONSE_URL }];
    const a = action(form(submission({ response_urls: urls })));
    expect([a.responseUrl, a.channelId]).toEqual([RESPONSE_URL, "C0REVIEW"]);
    expect(action(form(submission({ response_urls: [] }))).responseUrl).toBeUndefined();
    const foreign = [{ ...urls[0], response_url: "https://attacker.example/hook" }];
    expect(outcome(form(submission({ response_urls: foreign })))).toBe("malformed_payload");
    const m = { ...meta, responseUrl: RESPONSE_URL };
    const s = submission();
    const withMeta = { ...s, view: { ...s.view, private_metadata: JSON.stringify(m) } };
    expect(action(form(withMeta)).responseUrl).toBe(RESPONSE_URL);
    const noChannel = { ...s, response_urls: urls, view: { ...s.view, private_metadata: REF } };
    expect(action(form(noChannel)).channelId).toBe("C0PICKED");
  });

  it("needs a non-empty note of at most 3000 characters, trimmed, without control characters", () => {
    expect(action(form(submission({}, "  fix the intro \n"))).note).toBe("fix the intro");
    expect(outcome(form(submission({}, "   ")))).toBe("invalid_note");
    expect(outcome(form(submission({}, null)))).toBe("invalid_note");
    expect(outcome(form(submission({}, "x".repeat(3001))))).toBe("invalid_note");
    expect(outcome(form(submission({}, "Rename\u0000 the stage")))).toBe("invalid_note");
    expect(outcome(form(submission({}, "Rename\u001b[31m the stage")))).toBe("invalid_note");
    expect(action(form(submission({}, "x".repeat(3000)))).note).toHaveLength(3000);
  });

  it("refuses a modal without a valid reference, ignores other modals", () => {
    const s = submission();
    for (const pm of ["", "{}", "not json", JSON.stringify({ taskId: TASK, hash: "abc" })]) {
      expect(outcome(form({ ...s, view: { ...s.view, private_metadata: pm } }))).toBe("bad_reference");
    }
    expect(outcome(form({ ...s, view: { ...s.view, callback_id: "settings" } }))).toBe("ignored");
    expect(outcome(form({ ...s, view: undefined }))).toBe("malformed_payload");
  });
});

describe("the form body", () => {
  it("needs exactly one payload= field holding a JSON object", () => {
    expect(payloadJson("payload=%7B%7D")).toEqual({ ok: true, json: {} });
    for (const raw of [
      "",
      "payload=",
      "payload=null",
      "payload=%5B%5D",
      "payload=42",
      "payload=%7B",
      "other=%7B%7D",
      "payload=%7B%7D&payload=%7B%7D",
      JSON.stringify(fromMessage()),
    ]) {
      expect(outcome(raw), raw).toBe("malformed_body");
    }
  });
});
