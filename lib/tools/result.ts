// Tool results as the model and the event log get them: always one JSON text (data stays data — a
// CRM field saying "ignore previous instructions" is a string inside it, never merged into the
// prompt), capped in size, and storable in jsonb.
import { storable } from "../../db/rows.ts";

export const DEFAULT_MAX_RESULT_CHARS = 12_000;

/** A plain-JSON clone (dates to strings, undefined dropped); undefined becomes null. */
const jsonClone = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? null));

type Json = unknown;
interface ArraySite {
  path: string;
  array: Json[];
  total: number;
}

function arraysIn(value: Json, path: string, out: ArraySite[], depth = 0): ArraySite[] {
  if (depth > 6) return out;
  if (Array.isArray(value)) {
    out.push({ path, array: value, total: value.length });
    value.forEach((v, i) => {
      arraysIn(v, `${path}[${i}]`, out, depth + 1);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) arraysIn(v, path ? `${path}.${k}` : k, out, depth + 1);
  }
  return out;
}

function shortenStrings(value: Json, limit: number): Json {
  if (typeof value === "string") {
    return value.length > limit
      ? `${value.slice(0, limit)}… [${value.length - limit} characters cut]`
      : value;
  }
  if (Array.isArray(value)) return value.map((v) => shortenStrings(v, limit));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shortenStrings(v, limit)]));
  }
  return value;
}

// Room kept for the truncation note itself.
const NOTE_ROOM = 400;

/**
 * `value` as JSON text of at most `max` characters. Too big: the largest arrays are cut first (as
 * many items kept as fit, and `truncated` says "results: 40 of 312 shown"), then long strings are
 * shortened, and as a last resort a preview of the text is returned. `value` is not modified.
 */
export function fitJson(value: unknown, max: number): { text: string; truncated?: string } {
  const whole = jsonClone(value);
  const text = JSON.stringify(whole);
  if (text.length <= max) return { text };
  const budget = Math.max(0, max - NOTE_ROOM);
  const size = () => JSON.stringify(whole).length;
  const cut: string[] = [];

  // Arrays, largest first: keep the most leading items that fit (binary search).
  const sites = arraysIn(whole, "", []).sort(
    (a, b) => JSON.stringify(b.array).length - JSON.stringify(a.array).length,
  );
  for (const site of sites) {
    if (size() <= budget) break;
    const items = site.array.slice();
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      site.array.length = 0;
      site.array.push(...items.slice(0, mid));
      if (size() <= budget) lo = mid;
      else hi = mid - 1;
    }
    site.array.length = 0;
    site.array.push(...items.slice(0, lo));
    if (lo < site.total) cut.push(`${site.path || "(top)"}: ${lo} of ${site.total} shown`);
  }

  let result: Json = whole;
  for (
    let limit = 2000;
    JSON.stringify(result).length > budget && limit >= 50;
    limit = Math.floor(limit / 2)
  ) {
    result = shortenStrings(whole, limit);
    if (!cut.includes("long strings shortened")) cut.push("long strings shortened");
  }
  const fitted = JSON.stringify(result);
  if (fitted.length <= budget) return { text: fitted, truncated: cut.join("; ") };
  return {
    text: JSON.stringify(text.slice(0, budget)),
    truncated: `result cut to its first ${budget} characters of ${text.length}, as a JSON string`,
  };
}

export interface ResultContent {
  isError: boolean;
  content: string;
}

/** A successful result: `{"ok":true,"data":…}`, with `truncated` when it had to be cut. */
export function okContent(data: unknown, max: number): ResultContent {
  const fitted = fitJson(storable(jsonClone(data)), max);
  const note = fitted.truncated
    ? `,"truncated":${JSON.stringify(`${fitted.truncated}. Narrow the request (filters, properties, limit) to see the rest.`)}`
    : "";
  return { isError: false, content: `{"ok":true${note},"data":${fitted.text}}` };
}

export interface ToolErrorBody {
  code: string;
  message: string;
  fields?: { path: string; message: string }[];
}

export function errorContent(error: ToolErrorBody, max: number): ResultContent {
  const fitted = fitJson(storable(error), max);
  return { isError: true, content: `{"ok":false,"error":${fitted.text}}` };
}
