// The notices' Block Kit: what a person needs is on them (class, reason, what to do, the task), the
// Retry button follows payload.ts's conventions (the parser reads back the task it carries), text
// people or models wrote cannot mention anyone or forge links, and Slack's size limits hold.
import { describe, expect, it } from "vitest";
import { parseInteraction, RETRY_ACTION_ID } from "../slack/payload.ts";
import {
  blockedNotice,
  budgetNotice,
  pausedNotice,
  refusedMoveNotice,
  retriedNotice,
  triageNotice,
} from "./blocks.ts";
import { failureOf } from "./plan.ts";

const TASK = "task_01jz8k3m4n5p6q7r8s9t0v1w2x";
const ref = { taskId: TASK, title: "Create the renewal date property", url: "https://f.example/api/tasks/x" };
type B = { type: string; block_id?: string; text?: { text: string }; elements?: Record<string, unknown>[] };
const text = (blocks: unknown[]) => JSON.stringify(blocks);
const buttons = (blocks: unknown[]) =>
  (blocks as B[]).filter((b) => b.type === "actions").flatMap((b) => b.elements ?? []);

describe("triageNotice", () => {
  it("shows the class, the reason, what to do and the task, with one Retry button carrying the task", () => {
    const n = triageNotice(ref, failureOf("auth: the HubSpot token was revoked"));
    expect(n.text).toContain("credentials refused");
    const all = text(n.blocks);
    expect(all).toContain("`auth`");
    expect(all).toContain("the HubSpot token was revoked");
    expect(all).toContain("fix the credential");
    expect(all).toContain(`\`${TASK}\``);
    expect(all).toContain("<https://f.example/api/tasks/x|Open the task>");
    const [retry, ...others] = buttons(n.blocks);
    expect(others).toEqual([]);
    expect(retry).toMatchObject({ action_id: RETRY_ACTION_ID, value: JSON.stringify({ taskId: TASK }) });
    expect((n.blocks as B[]).find((b) => b.type === "actions")?.block_id).toBe(`retry:${TASK}`);
  });

  it("is a button the Slack route understands: a click on it parses to a retry of this task", () => {
    const [button] = buttons(triageNotice(ref, failureOf("other: boom")).blocks);
    const payload = {
      type: "block_actions",
      user: { id: "U0ANA", team_id: "T1" },
      team: { id: "T1" },
      container: { type: "message", message_ts: "1.2", channel_id: "C1" },
      actions: [{ type: "button", block_id: `retry:${TASK}`, action_ts: "9.9", ...button }],
    };
    const parsed = parseInteraction(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());
    expect(parsed).toMatchObject({ ok: true, retry: { kind: "retry", taskId: TASK, userId: "U0ANA" } });
  });

  it("escapes what the reason and title say: no mentions, no links, no broken markup", () => {
    const hostile = { ...ref, title: "<!channel> <https://evil.example|click> & co" };
    const n = triageNotice(hostile, failureOf("other: <@U0BOSS> approved <https://x.example|this>"));
    const all = text(n.blocks);
    expect(all).not.toContain("<!channel>");
    expect(all).not.toContain("<@U0BOSS>");
    expect(all).not.toContain("<https://evil.example");
    expect(all).toContain("&lt;!channel&gt;");
    expect(all).toContain("&amp; co");
    // The fallback text is mrkdwn too (notifications show it, and mentions in it ping).
    const fallbacks = [
      n.text,
      retriedNotice(hostile, failureOf("other: x"), { user: "U1", at: "2026-12-01T10:00:00Z" }).text,
      blockedNotice(hostile, "waiting").text,
      refusedMoveNotice(hostile, { ticketId: "1", from: "Ready", to: "Done", reason: "r", mover: "Ana" })
        .text,
    ];
    for (const f of fallbacks) {
      expect(f).not.toContain("<!channel>");
      expect(f).not.toContain("<https://evil.example");
      expect(f).toContain("&lt;!channel&gt;");
    }
  });

  it("keeps every section within Slack's 3000 characters however long the reason", () => {
    const n = triageNotice({ ...ref, title: "t".repeat(500) }, failureOf(`other: ${"x".repeat(10_000)}`));
    for (const b of n.blocks as B[]) if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    expect(n.text.length).toBeLessThan(300);
  });
});

describe("retriedNotice", () => {
  it("keeps the failure readable, names who retried and when, and has no button left", () => {
    const n = retriedNotice(ref, failureOf("timeout: stuck"), { user: "U0ANA", at: "2026-12-01 10:00 UTC" });
    expect(buttons(n.blocks)).toEqual([]);
    expect(text(n.blocks)).toContain("Retried by <@U0ANA> at 2026-12-01 10:00 UTC");
    expect(text(n.blocks)).toContain("stuck");
  });
});

describe("the other notices", () => {
  it("blocked: the reason, escaped, or says there is none", () => {
    expect(text(blockedNotice(ref, "waiting for <@U1>'s API key").blocks)).toContain("&lt;@U1&gt;");
    expect(text(blockedNotice(ref, null).blocks)).toContain("(no reason recorded)");
  });

  it("a refused HubSpot move: ticket, stages, who and why", () => {
    const n = refusedMoveNotice(ref, {
      ticketId: "4242",
      from: "working",
      to: "done",
      reason: "only the client's approval finishes a task",
      mover: "HubSpot user 7100001",
    });
    const all = text(n.blocks);
    for (const s of ["4242", "working to done", "HubSpot user 7100001", "only the client's approval"])
      expect(all).toContain(s);
  });

  it("scheduler paused and budget warnings say what happened and what follows", () => {
    expect(text(pausedNotice({ reason: "daily token budget spent", actor: "fn:schedule" }).blocks)).toContain(
      "daily token budget spent",
    );
    // A person taking a budget pause over: it will not lift on a new day any more.
    const over = text(pausedNotice({ reason: "CRM maintenance", actor: "api:dana", over: "budget" }).blocks);
    expect(over).toContain("already paused by the daily budget");
    expect(over).toContain("until a person resumes it");
    expect(text(pausedNotice({ reason: "x", actor: "api:dana" }).blocks)).not.toContain("already paused");
    const b = budgetNotice({ level: 95, day: "2026-12-01", tokensToday: 950_000, dailyTokens: 1_000_000 });
    expect(b.text).toContain("95 %");
    expect(text(b.blocks)).toContain("950,000 of 1,000,000 tokens (95 %)");
    // A cost cap that is nearer is named, with both figures.
    const c = budgetNotice({
      level: 80,
      day: "2026-12-01",
      tokensToday: 60,
      dailyTokens: 1_000_000,
      costToday: 1.7,
      dailyCostUsd: 2,
    });
    expect(c.text).toBe("Budget warning: 80 % of the daily cost budget used (2026-12-01)");
    expect(text(c.blocks)).toContain("60 of 1,000,000 tokens (0 %), $1.70 of $2.00 (85 %)");
  });
});
