// The stretch of time a digest covers, in the digest's time zone (FOREMAN_DIGEST_TZ): the daily one
// the local days since the day after its previous firing — the day before on a daily schedule, and on
// the default weekday schedule Monday's covers Friday to Sunday, so no day goes unreported — and the
// weekly one the seven local days before it (Monday to Sunday of the past week). Days begin at local
// midnight, found with Intl (no time-zone library; Workers have Intl too). Pure.

export type DigestKind = "daily" | "weekly";

export const PERIOD_DAYS: Record<DigestKind, number> = { daily: 1, weekly: 7 };

export interface DigestPeriod {
  kind: DigestKind;
  timeZone: string;
  /** The first local day covered (YYYY-MM-DD). */
  from: string;
  /** The last local day covered, inclusive. */
  to: string;
  days: number;
  /** The instant `from` begins, local midnight (ISO, UTC). */
  start: string;
  /** The instant the day after `to` begins: the period is [start, end). */
  end: string;
  /** When the digest was made: "now" for the snapshot numbers (stuck, waiting, states). */
  at: string;
}

const wallClock = (timeZone: string) =>
  new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

function wallParts(instant: Date, timeZone: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of wallClock(timeZone).formatToParts(instant))
    if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The local calendar date of an instant in a zone (YYYY-MM-DD). */
export function localDate(instant: Date, timeZone: string): string {
  const p = wallParts(instant, timeZone);
  return `${pad(p.year ?? 0, 4)}-${pad(p.month ?? 0)}-${pad(p.day ?? 0)}`;
}

/** The zone's offset from UTC at an instant, in ms (local wall time minus UTC). */
function offsetMs(instant: Date, timeZone: string): number {
  const p = wallParts(instant, timeZone);
  const wall = Date.UTC(
    p.year ?? 0,
    (p.month ?? 1) - 1,
    p.day ?? 1,
    p.hour ?? 0,
    p.minute ?? 0,
    p.second ?? 0,
  );
  return wall - Math.floor(instant.getTime() / 1000) * 1000;
}

function ymd(date: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) throw new Error(`not a date: ${date}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** `date` moved by `n` calendar days. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = ymd(date);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

/** The instant local midnight begins on `date` in the zone. */
export function startOfLocalDay(date: string, timeZone: string): Date {
  const [y, m, d] = ymd(date);
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the first guess can differ from the offset at midnight itself (a DST change in
  // between), so it is read again at the guess; two rounds settle it.
  const guess = wall - offsetMs(new Date(wall), timeZone);
  const start = wall - offsetMs(new Date(guess), timeZone);
  // Where a DST change skips midnight itself (Santiago, Havana, Asunción: 00:00 becomes 01:00), the
  // new offset lands an hour before midnight, on the previous day; the day then begins at the guess,
  // its first instant (01:00 local).
  return new Date(localDate(new Date(start), timeZone) === date ? start : guess);
}

const WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/**
 * The weekdays (0 = Sunday … 6 = Saturday) a five-field cron fires on, read as cron reads its fifth
 * field: *, numbers (7 is Sunday too), names, ranges, lists and steps. A field it cannot read is every
 * day (the daily digest then covers one day, as before).
 */
export function cronWeekdays(expr: string): Set<number> {
  const all = new Set([0, 1, 2, 3, 4, 5, 6]);
  const field = expr.trim().split(/\s+/)[4];
  if (field === undefined) return all;
  // 0–7 (7 and 0 are both Sunday: a range may end at 7); a name is its day.
  const value = (t: string) => {
    const i = WEEKDAY_NAMES.indexOf(t.toLowerCase());
    return i >= 0 ? i : /^[0-7]$/.test(t) ? Number(t) : Number.NaN;
  };
  const days = new Set<number>();
  for (const part of field.split(",")) {
    const [range = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    const [a = "", b] = range.split("-");
    const lo = range === "*" ? 0 : value(a);
    const hi = range === "*" ? 6 : b !== undefined ? value(b) : stepText === undefined ? lo : 6;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || !Number.isInteger(step) || step < 1) return all;
    for (let d = lo; d <= hi; d += step) days.add(d % 7);
  }
  return days.size > 0 ? days : all;
}

/** Days since the previous day in `firesOn` (1 when it fires every day, 3 on Monday for Mon–Fri). */
export function daysSincePreviousFiring(weekday: number, firesOn: ReadonlySet<number>): number {
  for (let k = 1; k <= 7; k++) if (firesOn.has((weekday - k + 7) % 7)) return k;
  return 1;
}

/** The period a digest of `kind` made at `now` covers (a daily: the days since `firesOn`'s previous day). */
export function digestPeriod(
  kind: DigestKind,
  now: Date,
  timeZone: string,
  opts: { firesOn?: ReadonlySet<number> } = {},
): DigestPeriod {
  const today = localDate(now, timeZone);
  const weekday = new Date(`${today}T00:00:00Z`).getUTCDay();
  const days =
    kind === "daily" && opts.firesOn ? daysSincePreviousFiring(weekday, opts.firesOn) : PERIOD_DAYS[kind];
  const from = addDays(today, -days);
  return {
    kind,
    timeZone,
    from,
    to: addDays(today, -1),
    days,
    start: startOfLocalDay(from, timeZone).toISOString(),
    end: startOfLocalDay(today, timeZone).toISOString(),
    at: now.toISOString(),
  };
}
