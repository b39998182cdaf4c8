// How a digest writes its numbers, in one place so the template, the Slack table and the tests agree:
// thousands with commas, shares as percentages to one decimal, dollars to the cent (to the hundredth
// of a cent under a dollar, where most local spend sits), ages in whole hours, days as "Mon 9 Mar 2026".
// Deterministic by construction (no locale data). Pure.
import type { DigestPeriod } from "./period.ts";
import type { Digest } from "./shape.ts";

export const int = (n: number): string => String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** A share (0.333…) as "33.3 %"; "—" without one. */
export const pct = (share: number | null): string =>
  share === null ? "—" : `${(Math.round(share * 1000) / 10).toFixed(1)} %`;

export const usd = (n: number): string => `$${n.toFixed(Math.abs(n) >= 1 ? 2 : 4)}`;

export const hours = (h: number): string => `${h} h`;

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "2026-03-09" → "Mon 9 Mar 2026" (a calendar date: no zone involved). */
export function day(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  return `${WEEKDAYS[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** The period in words: one day, or "Mon 2 Mar – Sun 8 Mar 2026". */
export function periodLabel(p: DigestPeriod): string {
  if (p.from === p.to) return day(p.from);
  const from = day(p.from);
  const to = day(p.to);
  // The year once when both ends share it.
  return from.slice(-4) === to.slice(-4) ? `${from.slice(0, -5)} – ${to}` : `${from} – ${to}`;
}

/** A monospace table: the first column left-aligned, the others right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  "))
    .map((line) => line.trimEnd())
    .join("\n");
}

/** The failure classes that occurred, most first (then by name). */
export const failureCounts = (d: Digest): [string, number][] =>
  Object.entries(d.failures.byClass)
    .filter(([, n]) => n > 0)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
