// The shakedown's report: one row per seeded task — scenario, ref and id, result — with its expected
// and observed paths on two lines under each other (so a difference lines up), then what was wrong
// and what happened along the way. States are shortened; the legend says how.
import type { TaskState } from "../states.ts";
import type { Verdict } from "./judge.ts";

const SHORT: Record<TaskState, string> = {
  intake: "intake",
  ready: "ready",
  working: "working",
  awaiting_internal_review: "internal",
  awaiting_client_review: "client",
  done: "done",
  blocked_external: "blocked",
  failed_needs_triage: "triage",
  cancelled: "cancelled",
};

export const LEGEND =
  "states: internal = awaiting_internal_review, client = awaiting_client_review, triage = failed_needs_triage, blocked = blocked_external";

export const pathText = (path: readonly TaskState[]): string =>
  path.length ? path.map((s) => SHORT[s]).join(" → ") : "(none)";

export function renderTable(verdicts: Verdict[]): string {
  const head = ["SCENARIO", "TASK", "RESULT", "PATH"];
  const rows = verdicts.map((v) => [
    v.seeded.scenario,
    `${v.seeded.ref} ${v.seeded.id}`,
    v.result.toUpperCase(),
  ]);
  const width = (i: number) => Math.max(head[i]?.length ?? 0, ...rows.map((r) => r[i]?.length ?? 0));
  const pad = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(width(i)) : c)).join("  ");
  const indent = " ".repeat(width(0) + width(1) + width(2) + 6);
  const lines = [pad(head)];
  verdicts.forEach((v, i) => {
    lines.push(pad([...(rows[i] as string[]), `expected ${pathText(v.expected)}`]));
    lines.push(`${indent}observed ${pathText(v.observed)}`);
    for (const p of v.problems) lines.push(`${indent}! ${p}`);
    for (const n of v.notes) lines.push(`${indent}· ${n}`);
  });
  return lines.join("\n");
}

export function summary(verdicts: Verdict[]): string {
  const count = (r: Verdict["result"]) => verdicts.filter((v) => v.result === r).length;
  const ok = count("ok");
  if (ok === verdicts.length) return `${ok} of ${verdicts.length} tasks took their expected path.`;
  return `${ok} of ${verdicts.length} tasks took their expected path; ${count("mismatch")} mismatched, ${count("timeout")} timed out.`;
}
