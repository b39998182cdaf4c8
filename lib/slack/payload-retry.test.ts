// The Retry button's click as Slack sends it: the task from the value JSON (or the block_id when the
// button has no value), the clicker and team, a key unique per click; a click that names no valid
// task is refused, not guessed; stamp buttons are unaffected.
import { describe, expect, it } from "vitest";
import { parseInteraction, RETRY_ACTION_ID } from "./payload.ts";

const TASK = "task_01jz8k3m4n5p6q7r8s9t0v1w2x";
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
const click = (button: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: "block_actions",
  user: { id: "U0ANA", username: "ana", team_id: "T0001" },
  team: { id: "T0001", domain: "acme" },
  container: { type: "message", message_ts: "1760000000.000100", channel_id: "C0REVIEW" },
  channel: { id: "C0REVIEW" },
  message: { ts: "1760000000.000100" },
  trigger_id: "1111.2222.abcd",
  response_url: "https://hooks.slack.com/actions/T0001/1/x",
  actions: [
    {
      type: "button",
      action_id: RETRY_ACTION_ID,
      block_id: `retry:${TASK}`,
      value: JSON.stringify({ taskId: TASK }),
      action_ts: "1760000001.000200",
      ...button,
    },
  ],
  ...extra,
});

describe("Retry clicks", () => {
  it("normalise to a retry of the task on the button, by the clicker, keyed by the click", () => {
    expect(parseInteraction(form(click({})))).toEqual({
      ok: true,
      retry: {
        kind: "retry",
        taskId: TASK,
        userId: "U0ANA",
        teamId: "T0001",
        idempotencyKey: "slack:T0001:U0ANA:1760000001.000200",
        surface: "message",
        actionTs: "1760000001.000200",
        responseUrl: "https://hooks.slack.com/actions/T0001/1/x",
        channelId: "C0REVIEW",
        messageTs: "1760000000.000100",
      },
    });
  });

  it("take the task from the block_id when the button carries no value", () => {
    const parsed = parseInteraction(form(click({ value: undefined })));
    expect(parsed).toMatchObject({ ok: true, retry: { taskId: TASK } });
  });

  it("are refused when the button names no valid task — never guessed from elsewhere", () => {
    for (const button of [
      { value: JSON.stringify({ taskId: "task_nope" }) },
      { value: "not json" },
      { value: JSON.stringify({ task: TASK }) },
      { value: undefined, block_id: "retry:task_nope" },
      { value: undefined, block_id: `stamp:${TASK}` },
    ]) {
      expect(parseInteraction(form(click(button))), JSON.stringify(button)).toMatchObject({
        ok: false,
        problem: "bad_reference",
      });
    }
  });

  it("need a team and something unique per click", () => {
    const noTeam = click({}, { team: null, user: { id: "U0ANA" } });
    expect(parseInteraction(form(noTeam))).toMatchObject({ ok: false, problem: "malformed_payload" });
    const noTs = click({ action_ts: undefined }, { trigger_id: undefined });
    expect(parseInteraction(form(noTs))).toMatchObject({ ok: false, problem: "malformed_payload" });
    const onlyTrigger = click({ action_ts: undefined });
    expect(parseInteraction(form(onlyTrigger))).toMatchObject({
      ok: true,
      retry: { idempotencyKey: "slack:T0001:U0ANA:1111.2222.abcd" },
    });
  });

  it("leave the stamp buttons and other actions as they were", () => {
    const approve = click({
      action_id: "stamp:approve",
      value: JSON.stringify({ taskId: TASK, hash: "a".repeat(64) }),
    });
    expect(parseInteraction(form(approve))).toMatchObject({ ok: true, action: { kind: "approve" } });
    expect(parseInteraction(form(click({ action_id: "task:retry2" })))).toEqual({
      ok: true,
      ignored: "action task:retry2 is not a stamp",
    });
  });
});
