// Named prepared statements for the hot write path. PostgreSQL plans a statement on every simple
// execution; the one-statement transition and submit CTEs cost more to plan than to run (1.3 ms of
// planning beside 1.5 ms of execution, measured), so on a long-lived node-postgres pool they run as
// named prepared statements, parsed and planned once per connection. The name is a hash of the SQL
// text, so two different texts never share a name. Other drivers execute them plainly: a Worker's
// Neon pool lives for one request (nothing to reuse), and PGlite is a single session.
import { createHash } from "node:crypto";
import type { SQL } from "drizzle-orm";
import type { AppDb } from "./types.ts";

interface Internals {
  dialect: { sqlToQuery(query: SQL): { sql: string; params: unknown[] } };
  session: {
    prepareQuery(
      query: { sql: string; params: unknown[] },
      fields: undefined,
      name: string,
      isResponseInArrayMode: boolean,
    ): { execute(): Promise<unknown> };
  };
}

const names = new Map<string, string>();
const nameOf = (text: string): string => {
  let name = names.get(text);
  if (!name) {
    name = `fm_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
    if (names.size > 1000) names.clear();
    names.set(text, name);
  }
  return name;
};

const preparable = new WeakSet<AppDb>();

/** Marks a database handle whose connections live long enough to reuse prepared statements. */
export function usePreparedStatements(db: AppDb): AppDb {
  preparable.add(db);
  return db;
}

/** Runs `query` like db.execute (same result shape), as a named prepared statement where that pays. */
export function executePrepared(db: AppDb, query: SQL): Promise<unknown> {
  if (!preparable.has(db)) return db.execute(query);
  const internals = db as unknown as Internals;
  const built = internals.dialect.sqlToQuery(query);
  return internals.session.prepareQuery(built, undefined, nameOf(built.sql), false).execute();
}
