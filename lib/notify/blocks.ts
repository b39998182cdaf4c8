// Block Kit for the notices a person must act on, pure and in card.ts's style: a failed task (its
// failure class and reason, and a Retry button), a blocked task (the reason), a refused HubSpot move,
// the scheduler paused, a budget warning — and the triage notice once retried (who, when; the button
// gone, which also stops double clicks). Text people or models wrote is escaped with escapeMrkdwn.
import { costShare, tokenShare } from "../budget/status.ts";
import type { FailureClass } from "../failures.ts";
import { escapeMrkdwn } from "../slack/card.ts";
import type { Block } from "../slack/client.ts";
import { RETRY_ACTION_ID } from "../slack/payload.ts";
import { clipWithEllipsis } from "../text.ts";
import type { Failure } from "./plan.ts";

export interface SlackText {
  text: string;
  blocks: Block[];
}

// Slack: section text ≤ 3000, header ≤ 150, notification text kept short.
const clip = clipWithEllipsis;
const section = (text: string): Block => ({
  type: "section",
  text: { type: "mrkdwn", text: clip(text, 3000) },
});
const quote = (s: string, n: number): string => `>${escapeMrkdwn(clip(s, n)).replaceAll("\n", "\n>")}`;

export interface TaskRef {
  taskId: string;
  title: string;
  /** Where the task can be read (FOREMAN_PUBLIC_URL/board/tasks/:id), when the server has a public URL. */
  url?: string | undefined;
}

const about = (t: TaskRef): Block =>
  section(
    `*${escapeMrkdwn(clip(t.title, 200))}* · \`${t.taskId}\`${t.url ? ` · <${t.url}|Open the task>` : ""}`,
  );

const CLASS_LABEL: Record<Failure["class"], string> = {
  rate_limit: "rate limited",
  auth: "credentials refused",
  timeout: "timed out",
  malformed_output: "malformed output",
  budget: "token budget",
  dependency: "a dependency failed",
  external_api: "external API",
  other: "other error",
};

/** A failed task: what failed and why, and a Retry button that carries the task. */
export function triageNotice(t: TaskRef, f: Failure): SlackText {
  return {
    text: `Needs triage (${CLASS_LABEL[f.class]}): ${escapeMrkdwn(clip(t.title, 200))}`,
    blocks: [
      section(`:rotating_light: *Failed, needs triage* — ${CLASS_LABEL[f.class]} (\`${f.class}\`)`),
      about(t),
      section(quote(f.detail, 2000)),
      { type: "context", elements: [{ type: "mrkdwn", text: `What to do: ${f.hint}` }] },
      {
        type: "actions",
        block_id: `retry:${t.taskId}`,
        elements: [
          {
            type: "button",
            action_id: RETRY_ACTION_ID,
            style: "primary",
            text: { type: "plain_text", text: "Retry" },
            value: JSON.stringify({ taskId: t.taskId }),
            confirm: {
              title: { type: "plain_text", text: "Retry this task?" },
              text: { type: "plain_text", text: "It goes back to the queue and a worker takes it again." },
              confirm: { type: "plain_text", text: "Retry" },
              deny: { type: "plain_text", text: "Not yet" },
            },
          },
        ],
      },
    ],
  };
}

/** The triage notice after a retry: the failure stays readable, the button is replaced by who and when. */
export function retriedNotice(t: TaskRef, f: Failure, by: { user: string; at: string }): SlackText {
  const line = `:repeat: Retried by <@${by.user}> at ${by.at}: back in the queue`;
  return {
    text: `${line.replace(":repeat: ", "")} — ${escapeMrkdwn(clip(t.title, 200))}`,
    blocks: [
      section(`*Failed, needs triage* — ${CLASS_LABEL[f.class]} (\`${f.class}\`)`),
      about(t),
      section(quote(f.detail, 2000)),
      section(`*${line}*`),
    ],
  };
}

/** A blocked task: the reason someone outside foreman has to act on. */
export function blockedNotice(t: TaskRef, reason: string | null): SlackText {
  return {
    text: `Blocked: ${escapeMrkdwn(clip(t.title, 200))}`,
    blocks: [
      section(":no_entry: *Blocked, waiting on someone outside foreman*"),
      about(t),
      section(quote(reason?.trim() || "(no reason recorded)", 2000)),
    ],
  };
}

/** A HubSpot ticket move foreman refused (the ticket has a note too, and is put back). */
export function refusedMoveNotice(
  t: TaskRef,
  m: { ticketId: string; from: string; to: string; reason: string; mover?: string | undefined },
): SlackText {
  const who = m.mover ? ` by ${escapeMrkdwn(clip(m.mover, 120))}` : "";
  return {
    text: `HubSpot move refused (${m.from} → ${m.to}): ${escapeMrkdwn(clip(t.title, 200))}`,
    blocks: [
      section(
        `:warning: *HubSpot move refused* — ticket ${escapeMrkdwn(m.ticketId)} was moved from ${m.from} to ${m.to}${who}`,
      ),
      about(t),
      section(
        `${quote(m.reason, 2000)}\nThe ticket has a note saying why and is put back to the task's stage.`,
      ),
    ],
  };
}

/** The scheduler stopped leasing work (budget breach, or a person paused it, or took a budget pause over). */
export function pausedNotice(p: { reason: string; actor: string; over?: "budget" | undefined }): SlackText {
  const after =
    p.over === "budget"
      ? "It was already paused by the daily budget; it now stays paused until a person resumes it, also on a new day."
      : "No work is leased until it is resumed (or the next day, after a budget pause).";
  return {
    text: `Scheduler paused: ${clip(p.reason, 200)}`,
    blocks: [
      section(`:double_vertical_bar: *Scheduler paused* by ${escapeMrkdwn(clip(p.actor, 100))}`),
      section(`${quote(p.reason, 2000)}\n${after}`),
    ],
  };
}

/** crm-push ran out of retries: HubSpot is not taking foreman's ticket writes (once per outage). */
export function crmOutageNotice(o: { error: string; class: FailureClass }): SlackText {
  const fix =
    o.class === "auth"
      ? "HubSpot refused foreman's access token: check HUBSPOT_ACCESS_TOKEN and the private app's scopes (tickets read and write)."
      : o.class === "rate_limit"
        ? "HubSpot kept answering 429: the portal's API limits are spent, perhaps by another integration."
        : "HubSpot was unreachable or failing for longer than the push's retries.";
  return {
    text: `HubSpot ticket writes are failing: ${clip(o.error, 200)}`,
    blocks: [
      section(":warning: *HubSpot ticket writes are failing*: tickets no longer follow their tasks."),
      section(
        `${quote(o.error, 1000)}\n${fix} Tasks go on working meanwhile. While the outage lasts the watchdog ` +
          "tries one ticket an hour; once a push gets through, every ticket left behind is pushed again and " +
          "catches up by itself. This notice is not repeated until a push has got through.",
      ),
    ],
  };
}

/** The day's spend crossed a warning level of the daily budget: of tokens, of cost, or both. */
export function budgetNotice(b: {
  level: 80 | 95;
  day: string;
  tokensToday: number;
  dailyTokens: number;
  costToday?: number | undefined;
  dailyCostUsd?: number | undefined;
}): SlackText {
  const n = (x: number) => x.toLocaleString("en-US");
  const usd = (x: number) => `$${x.toFixed(2)}`;
  const pct = (x: number) => `${Math.floor(x)} %`;
  const tokenPct = tokenShare(b.dailyTokens, b.tokensToday);
  const costPct = b.costToday === undefined ? undefined : costShare(b.dailyCostUsd, b.costToday);
  const crossed = [
    ...(tokenPct >= b.level ? ["token"] : []),
    ...(costPct !== undefined && costPct >= b.level ? ["cost"] : []),
  ];
  const which =
    crossed.length === 2 ? "daily token and cost budgets" : `daily ${crossed[0] ?? "token"} budget`;
  const figures = [
    `${n(b.tokensToday)} of ${n(b.dailyTokens)} tokens (${pct(tokenPct)})`,
    ...(costPct === undefined
      ? []
      : [`${usd(b.costToday ?? 0)} of ${usd(b.dailyCostUsd ?? 0)} (${pct(costPct)})`]),
  ];
  return {
    text: `Budget warning: ${b.level} % of the ${which} used (${b.day})`,
    blocks: [
      section(
        `:chart_with_upwards_trend: *Budget warning* — ${b.level} % of the ${which} used on ${b.day}: ${figures.join(", ")}. At 100 % the scheduler pauses until the next day.`,
      ),
    ],
  };
}
