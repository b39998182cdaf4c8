// Block Kit for the internal stamp: the review card (title, summary, the reviewer's findings, links to
// the output, the board and the CRM ticket, and Approve / Request changes / Reject), the same card once
// decided (who, what, when — no buttons, which also stops double clicks), the request-changes modal,
// and the reminder and escalation nudges. Pure; the conventions the buttons follow are payload.ts's.
import type { StampStage } from "../states.ts";
import { clipWithEllipsis } from "../text.ts";
import type { Block } from "./client.ts";
import { CHANGES_CALLBACK_ID, NOTE_ACTION_ID, NOTE_MAX, STAMP_ACTIONS } from "./payload.ts";

export interface CardInput {
  taskId: string;
  title: string;
  deliverableHash: string;
  version: number;
  /** The worker's own summary of what it did. */
  summary: string | null;
  review: { verdict: "pass" | "fail"; score: number; feedback: string; revisions: number } | null;
  links: { output?: string; board?: string; crm?: string };
  /** The round of review the card is for (the stage entry's event id): a click is refused after it. */
  round?: number | undefined;
}

// Slack: section text ≤ 3000, header ≤ 150, button text ≤ 75, value ≤ 2000.
const clip = clipWithEllipsis;
/** Text people wrote, shown as text: Slack's control characters for mentions and links are escaped. */
export const escapeMrkdwn = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

const section = (text: string): Block => ({
  type: "section",
  text: { type: "mrkdwn", text: clip(text, 3000) },
});

function head(c: CardInput): Block[] {
  const blocks: Block[] = [
    { type: "header", text: { type: "plain_text", text: clip(`Review: ${c.title}`, 150) } },
    section(
      `*Task* \`${c.taskId}\` · version ${c.version}${c.review ? ` · automatic revisions ${c.review.revisions}/2` : ""}`,
    ),
  ];
  if (c.summary) blocks.push(section(`*Summary*\n${escapeMrkdwn(clip(c.summary, 1500))}`));
  if (c.review) {
    const label = c.review.verdict === "pass" ? "passed" : "did not pass";
    blocks.push(
      section(
        `*Reviewer findings* (${label}, score ${c.review.score.toFixed(1)}/10)\n${escapeMrkdwn(clip(c.review.feedback, 2000))}`,
      ),
    );
  }
  const links = [
    c.links.output ? `<${c.links.output}|Output>` : null,
    c.links.board ? `<${c.links.board}|Board>` : null,
    c.links.crm ? `<${c.links.crm}|CRM ticket>` : null,
  ].filter(Boolean);
  if (links.length > 0)
    blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: links.join(" · ") }] });
  return blocks;
}

/** The card with its three buttons; each carries the task and the exact deliverable version shown. */
export function reviewCard(c: CardInput): { text: string; blocks: Block[] } {
  const value = JSON.stringify({
    taskId: c.taskId,
    hash: c.deliverableHash,
    ...(c.round === undefined ? {} : { round: c.round }),
  });
  const button = (action_id: string, text: string, style?: "primary" | "danger"): Block => ({
    type: "button",
    action_id,
    text: { type: "plain_text", text },
    value,
    ...(style ? { style } : {}),
  });
  return {
    text: `Review needed: ${escapeMrkdwn(clip(c.title, 200))}`,
    blocks: [
      ...head(c),
      {
        type: "actions",
        block_id: `stamp:${c.taskId}:${c.deliverableHash}`,
        elements: [
          button(STAMP_ACTIONS.approve, "Approve", "primary"),
          button(STAMP_ACTIONS.changes, "Request changes"),
          {
            ...button(STAMP_ACTIONS.reject, "Reject", "danger"),
            confirm: {
              title: { type: "plain_text", text: "Reject this task?" },
              text: { type: "plain_text", text: "Rejecting cancels the task. This cannot be undone." },
              confirm: { type: "plain_text", text: "Reject" },
              deny: { type: "plain_text", text: "Keep reviewing" },
              style: "danger",
            },
          },
        ],
      },
    ],
  };
}

export interface Decision {
  decision: "approve" | "request_changes" | "reject";
  /** Who decided, as Slack should show them (`<@U…>` for a Slack user, a name otherwise). */
  by: string;
  via: "slack" | "link" | "crm" | "api";
  at: string;
  note?: string;
}

const VERB: Record<Decision["decision"], string> = {
  approve: "✅ Approved",
  request_changes: "✏️ Changes requested",
  reject: "⛔ Rejected",
};

/** The card after the decision: who, what, when, through which channel; the buttons are gone. */
export function decidedCard(c: CardInput, d: Decision): { text: string; blocks: Block[] } {
  const via = d.via === "slack" ? "" : ` (via ${d.via})`;
  const line = `${VERB[d.decision]} by ${d.by}${via} at ${d.at}`;
  return {
    text: `${line}: ${escapeMrkdwn(clip(c.title, 200))}`,
    blocks: [
      ...head(c),
      section(`*${line}*${d.note ? `\n>${escapeMrkdwn(clip(d.note, 2500)).replaceAll("\n", "\n>")}` : ""}`),
    ],
  };
}

/** The card when the version it shows was replaced or the wait ended without a stamp. */
export function closedCard(c: CardInput, why: string): { text: string; blocks: Block[] } {
  return {
    text: `${why}: ${escapeMrkdwn(clip(c.title, 200))}`,
    blocks: [...head(c), section(`*${escapeMrkdwn(why)}*`)],
  };
}

/** The request-changes modal; private_metadata carries what payload.ts reads back on submission. */
export function changesModal(ref: {
  taskId: string;
  hash: string;
  round?: number | undefined;
  channelId?: string | undefined;
  messageTs?: string | undefined;
  responseUrl?: string | undefined;
}): Record<string, unknown> {
  const meta = {
    taskId: ref.taskId,
    hash: ref.hash,
    ...(ref.round === undefined ? {} : { round: ref.round }),
    ...(ref.channelId ? { channelId: ref.channelId } : {}),
    ...(ref.messageTs ? { messageTs: ref.messageTs } : {}),
    ...(ref.responseUrl ? { responseUrl: ref.responseUrl } : {}),
  };
  return {
    type: "modal",
    callback_id: CHANGES_CALLBACK_ID,
    private_metadata: JSON.stringify(meta),
    title: { type: "plain_text", text: "Request changes" },
    submit: { type: "plain_text", text: "Send to the worker" },
    close: { type: "plain_text", text: "Cancel" },
    blocks: [
      {
        type: "input",
        // Slack keys a modal's field errors by block_id: the route answers errors under this id.
        block_id: NOTE_ACTION_ID,
        label: { type: "plain_text", text: "What should change?" },
        element: {
          type: "plain_text_input",
          action_id: NOTE_ACTION_ID,
          multiline: true,
          max_length: NOTE_MAX,
          placeholder: { type: "plain_text", text: "The worker reads this as its feedback." },
        },
      },
    ],
  };
}

/** A nudge in the card's thread (internal) or the channel (client), naming whom it waits on. */
export function reminderText(input: {
  title: string;
  stage: StampStage;
  waitingHours: number;
  reviewers: string[];
}): string {
  const who = input.reviewers.length > 0 ? `${input.reviewers.join(" ")} ` : "";
  const what = input.stage === "internal" ? "an internal stamp" : "the client's stamp";
  return `${who}Reminder: *${escapeMrkdwn(clip(input.title, 200))}* has waited ${Math.round(input.waitingHours)} h for ${what}.`;
}

export function escalationText(input: {
  title: string;
  stage: StampStage;
  waitingHours: number;
  to: string[];
  deadline: string;
}): string {
  const who = input.to.length > 0 ? input.to.join(" ") : "Nobody is listed as escalation reviewer —";
  const what =
    input.stage === "internal" ? "no internal reviewer has stamped it" : "the client has not stamped it";
  return `${who} escalation: *${escapeMrkdwn(clip(input.title, 200))}* has waited ${Math.round(input.waitingHours)} h and ${what}. Without a decision by ${input.deadline} it is set aside as blocked (no stamp).`;
}
