// The digest as Slack Block Kit: a header, where the summary came from, the summary, the headline
// numbers as section fields, then the breakdowns as monospace tables (Slack has no table block) and
// the stuck and waiting items by name. Names and titles come from people and the CRM, so they are
// escaped and clipped; tables are capped at TABLE_ROWS rows with a count of the rest. Pure.
import { escapeMrkdwn } from "../slack/card.ts";
import type { Block } from "../slack/client.ts";
import { clipWithEllipsis } from "../text.ts";
import { failureCounts, hours, int, pct, periodLabel, table, usd } from "./format.ts";
import type { Count, Digest, Spend } from "./shape.ts";
import type { DigestSummary } from "./write.ts";

export const TABLE_ROWS = 10;

// Slack: header ≤ 150, section text ≤ 3000, field text ≤ 2000.
const clip = clipWithEllipsis;
/** A name on one line, clipped, with no backticks to end a code span or block early. */
const plain = (s: string, n = 32) => clip(s.replace(/\s+/g, " "), n).replaceAll("`", "'");
const label = (s: string, n = 32) => escapeMrkdwn(plain(s, n));

const section = (text: string): Block => ({
  type: "section",
  text: { type: "mrkdwn", text: clip(text, 3000) },
});
// Padded first, escaped after, so the columns line up as Slack shows them (`&amp;` displays as `&`).
const code = (rows: string[][]) => `\`\`\`\n${escapeMrkdwn(table(rows))}\n\`\`\``;

function capped<T>(items: T[], total: number, row: (t: T) => string[], width: number): string[][] {
  const rows = items.slice(0, TABLE_ROWS).map(row);
  const rest = total - Math.min(items.length, TABLE_ROWS);
  if (rest > 0) rows.push([`… ${rest} more`, ...Array(width - 1).fill("")]);
  return rows;
}

const countRows = (head: string, list: Count[]) => [
  [head, "done"],
  ...capped(list, list.length, (c) => [plain(c.label), int(c.n)], 2),
];
const spendRows = (head: string, list: Spend[]) => [
  [head, "tokens", "cost"],
  ...capped(list, list.length, (s) => [plain(s.label), int(s.tokens), usd(s.costUsd)], 3),
];

export function digestTitle(d: Digest): string {
  return `foreman ${d.period.kind} digest · ${periodLabel(d.period)}`;
}

export function digestMessage(d: Digest, summary: DigestSummary): { text: string; blocks: Block[] } {
  const s = d.spend;
  const source =
    summary.source === "model"
      ? `Summary by the local model (${label(summary.model, 60)}).`
      : `Summary: the template, not the local model (${escapeMrkdwn(clip(summary.why, 200))}).`;
  const blocks: Block[] = [
    { type: "header", text: { type: "plain_text", text: clip(digestTitle(d), 150) } },
    {
      type: "context",
      elements: [
        {
          type: "mrkdwn",
          text: `${periodLabel(d.period)}, ${d.period.timeZone}. States, stuck and waiting as of ${d.period.at.slice(0, 16).replace("T", " ")} UTC. ${source}`,
        },
      ],
    },
    section(escapeMrkdwn(summary.text)),
    {
      type: "section",
      fields: [
        [
          "Done",
          d.done.skipped > 0 ? `${int(d.done.total)} (+${int(d.done.skipped)} skipped)` : int(d.done.total),
        ],
        ["Events logged", int(d.events)],
        [
          "Stamps waiting",
          d.stamps.total > 0 ? `${int(d.stamps.total)} (oldest ${hours(d.stamps.oldestHours ?? 0)})` : "0",
        ],
        ["Stuck", int(d.stuck.total)],
        ["Failures", int(d.failures.total)],
        ["Tokens", `${int(s.tokens)} of ${int(s.budget.tokens)} (${pct(s.tokenShare)})`],
        [
          "Cost",
          s.budget.costUsd === null
            ? `${usd(s.costUsd)} (no cost budget)`
            : `${usd(s.costUsd)} of ${usd(s.budget.costUsd)} (${pct(s.costShare)})`,
        ],
        ["Local tier", `${pct(s.localShare)} of tokens (${int(s.localTokens)})`],
      ].map(([k, v]) => ({ type: "mrkdwn", text: `*${k}*\n${v}` })),
    },
    section(`*Tasks now*\n${code(Object.entries(d.states).map(([state, n]) => [state, int(n)]))}`),
  ];
  if (d.done.total > 0) {
    blocks.push(
      section(
        `*Done*\n${code(countRows("by project", d.done.byProject))}\n${code(countRows("by worker", d.done.byWorker))}`,
      ),
    );
  }
  if (d.stamps.total > 0) {
    const lines = d.stamps.items.slice(0, TABLE_ROWS).map((w) => {
      const who = w.waitingOn.length
        ? w.waitingOn.map((r) => `${label(r.name)}${r.escalates ? " (escalation)" : ""}`).join(", ")
        : "nobody listed for this stage";
      return `• \`${w.taskId}\` ${label(w.title, 80)} (${label(w.project)}): ${w.stage}, ${hours(w.hours)}, waiting on ${who}`;
    });
    const rest = d.stamps.total - lines.length;
    blocks.push(section(`*Stamps waiting*\n${lines.join("\n")}${rest > 0 ? `\n… ${rest} more` : ""}`));
  }
  if (d.stuck.total > 0) {
    const lines = d.stuck.items.slice(0, TABLE_ROWS).map((t) => {
      const why = t.why === "silent" ? `no event for ${hours(t.hours)}` : `${hours(t.hours)} in ${t.state}`;
      return `• \`${t.taskId}\` ${label(t.title, 80)} (${label(t.project)}): ${t.state}, ${why}`;
    });
    const rest = d.stuck.total - lines.length;
    blocks.push(section(`*Stuck*\n${lines.join("\n")}${rest > 0 ? `\n… ${rest} more` : ""}`));
  }
  if (d.failures.total > 0) {
    const rows = failureCounts(d).map(([c, n]) => [c, int(n)]);
    blocks.push(section(`*Failures by class*\n${code([["class", "moves"], ...rows])}`));
  }
  if (s.tokens > 0) {
    blocks.push(
      section(
        `*Spend*\n${code(spendRows("by project", s.byProject))}\n${code(spendRows("by worker", s.byWorker))}\n${code(spendRows("by provider", s.byProvider))}`,
      ),
    );
  }
  const text = `${digestTitle(d)}: ${int(d.done.total)} done, ${int(d.failures.total)} failures, ${int(d.stuck.total)} stuck, ${int(d.stamps.total)} stamps waiting`;
  return { text, blocks };
}
