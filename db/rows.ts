// Small, driver-neutral readers for raw statements (`db.execute`): the rows of a result, a json/jsonb
// value that one driver parses and another returns as text, and the PostgreSQL error (SQLSTATE,
// constraint, detail) under drizzle's wrapper. One copy, used by every verb that runs raw SQL.

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
