// How the CLI prints (pure): aligned tables whose one flexible column (a title) is cut to fit, text
// cut with an ellipsis, relative ages (45s, 12m, 3h, 5d), numbers and money, and the one-line gist of
// a timeline event.

export interface Column {
  header: string;
  align?: "left" | "right";
  /** The column that gives way when the table is too wide (cut with …); at most one. */
  flex?: boolean;
}

/** Cells are single lines: control characters and line breaks become spaces. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;
const oneLine = (s: string) => s.replace(CONTROL, " ");

export function truncate(s: string, max: number): string {
  const line = oneLine(s);
  const chars = [...line];
  if (chars.length <= max) return line;
  return max <= 1
    ? "…".slice(0, max)
    : `${chars
        .slice(0, max - 1)
        .join("")
        .trimEnd()}…`;
}

const widthOf = (s: string) => [...s].length;

/**
 * Rows under a header, columns two spaces apart, no trailing spaces. With `width`, the flex column is
 * cut so each line fits (never below 10 characters); without it, the flex column is cut at `flexMax`.
 */
export function table(columns: Column[], rows: string[][], opts: { width?: number; flexMax?: number } = {}) {
  const cells = rows.map((r) => columns.map((_, i) => oneLine(r[i] ?? "")));
  const widths = columns.map((c, i) => Math.max(widthOf(c.header), ...cells.map((r) => widthOf(r[i] ?? ""))));
  const flex = columns.findIndex((c) => c.flex);
  if (flex >= 0) {
    const others = widths.reduce((n, w, i) => (i === flex ? n : n + w + 2), 0);
    const room = opts.width !== undefined ? opts.width - others : (opts.flexMax ?? 60);
    widths[flex] = Math.min(widths[flex] ?? 0, Math.max(10, room));
  }
  const line = (r: string[]) =>
    columns
      .map((c, i) => {
        const w = widths[i] ?? 0;
        const v = truncate(r[i] ?? "", w);
        return c.align === "right" ? v.padStart(w) : v.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** How long ago, in the largest unit that fits: 45s, 12m, 3h, 5d, 7w, 4mo, 2y. */
export function age(from: Date | string, now: Date): string {
  const s = Math.max(0, Math.floor((now.getTime() - new Date(from).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 14) return `${d}d`;
  if (d < 60) return `${Math.floor(d / 7)}w`;
  if (d < 730) return `${Math.floor(d / 30)}mo`;
  return `${Math.floor(d / 365)}y`;
}

export const num = (n: number) => n.toLocaleString("en-US");
export const usd = (n: number) =>
  `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: n !== 0 && n < 0.01 ? 4 : 2 })}`;

type Payload = Record<string, unknown>;
const str = (v: unknown) =>
  typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);

/** The one-line gist of a timeline event, by kind; unknown kinds show their payload. */
export function eventGist(kind: string, payload: Payload): string {
  const p = payload;
  switch (kind) {
    case "state_changed":
      return `${str(p.from)} → ${str(p.to)}${p.reason ? `: ${str(p.reason)}` : ""}`;
    case "note":
      return str(p.text);
    case "submitted":
      return `from ${str(p.source)}${Array.isArray(p.dependsOn) && p.dependsOn.length ? `, after ${p.dependsOn.join(", ")}` : ""}`;
    case "triage":
      return p.via === "admin" ? str(p.reason) : `${str(p.via)}: ${str(p.reason)}`;
    case "review":
      return `${str(p.verdict)}${p.score !== undefined ? ` (score ${str(p.score)})` : ""}`;
    case "stamp":
      return `${str(p.stage)} ${str(p.decision)}${p.note ? `: ${str(p.note)}` : ""}`.trim();
    case "would_do":
      return `WOULD ${str(p.method)} ${str(p.path)}`;
    case "tool_call":
    case "tool_result":
      return str(p.tool);
    case "worker_turn":
      return `turn ${str(p.turn)}`;
    case "refusal":
      return `${str(p.what)}: ${str(p.reason)}`;
    case "reminder":
    case "escalation":
      return `to ${str(p.to)}`;
    case "watchdog":
      return str(p.action);
    default:
      return JSON.stringify(p);
  }
}

/** An answer's lines followed by one `warning:` line per warning the API sent (an event still queued). */
export const withWarnings = (lines: string | string[], warnings: readonly string[] | undefined): string =>
  [...(typeof lines === "string" ? [lines] : lines), ...(warnings ?? []).map((w) => `warning: ${w}`)].join(
    "\n",
  );
