// The driver-neutral database handle. Repository code is written once against AppDb and runs on
// PGlite, node-postgres and Neon alike.
import type { PGlite } from "@electric-sql/pglite";
import type { Pool as NeonPool } from "@neondatabase/serverless";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type pg from "pg";
import type * as schema from "./schema/index.ts";

export type AppDb = PgDatabase<PgQueryResultHKT, typeof schema>;
export type DbKind = "pglite" | "postgres" | "neon";

/** The driver's own client, for the few things drizzle does not wrap (migration locks, cloning). */
export type RawClient =
  | { kind: "pglite"; client: PGlite }
  | { kind: "postgres"; pool: pg.Pool }
  | { kind: "neon"; pool: NeonPool };

export interface DbHandle {
  db: AppDb;
  kind: DbKind;
  raw: RawClient;
  /** Releases connections (and, for PGlite, the data-dir lock). Safe to call twice. */
  close(): Promise<void>;
}
