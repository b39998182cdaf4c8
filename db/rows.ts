// Small, driver-neutral helpers for raw statements (`db.execute`): the rows of a result, a json/jsonb
// value that one driver parses and another returns as text, a value as jsonb text PostgreSQL accepts,
// and the PostgreSQL error (SQLSTATE, constraint, detail) under drizzle's wrapper. One copy, used by
// every verb that runs raw SQL.

/** The rows of a `db.execute` result, typed by the caller. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

/** A json/jsonb column: node-postgres and PGlite parse it, some paths hand back text. */
export const fromJson = <T>(value: T | string): T =>
  typeof value === "string" ? (JSON.parse(value) as T) : value;

export interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
}

/** The driver's error with its 5-character SQLSTATE, found through drizzle's `cause` chain. */
export function pgErrorOf(err: unknown): PgError | undefined {
  for (let e: unknown = err; e && typeof e === "object"; e = (e as { cause?: unknown }).cause) {
    const code = (e as PgError).code;
    if (typeof code === "string" && code.length === 5) return e as PgError;
  }
  return undefined;
}

// NUL and lone surrogates: jsonb refuses both (and JSON.stringify escapes lone surrogates as \udXXX).
const LONE_SURROGATE = "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";
const UNSTORABLE = new RegExp(`\\u0000|${LONE_SURROGATE}`, "g");

const clean = (s: string) => s.replace(UNSTORABLE, "\ufffd");

/** A JSON copy of `value` whose strings (and keys) PostgreSQL can store: NUL and lone surrogates → U+FFFD. */
export function storable(value: unknown): unknown {
  if (typeof value === "string") return clean(value);
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), storable(v)]));
  }
  return value;
}

// What JSON.stringify writes for NUL and for any surrogate it cannot pair (a pair it writes as is).
const ESCAPED_UNSTORABLE = /\\u0000|\\ud[89a-f]/i;

/**
 * `value` as the text of a `${…}::jsonb` parameter. jsonb refuses NUL and half of a surrogate pair,
 * which a string cut at a fixed length (a model's text, a CRM field) can end with; those become
 * U+FFFD instead of failing the statement — and every retry of it. The clean copy is made only when
 * the text shows one (rare), so the common path costs one regex test.
 */
export function toJsonb(value: unknown): string {
  const text = JSON.stringify(value);
  // (undefined stays undefined: the parameter is then SQL NULL, as JSON.stringify's would be)
  return text !== undefined && ESCAPED_UNSTORABLE.test(text)
    ? JSON.stringify(storable(JSON.parse(text)))
    : text;
}
