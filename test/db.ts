// Database fixtures: the same suite runs on embedded PGlite (default) or on real PostgreSQL when
// TEST_DATABASE_URL is set. Each test file gets its own migrated database, cloned from the template
// that global-setup made, and drops it afterwards.
import { readFileSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { fromPglite, openPostgres } from "../db/client.ts";
import type { AppDb, DbHandle } from "../db/types.ts";
import { withDatabase } from "./db-url.ts";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;
export const onPostgres = Boolean(TEST_DATABASE_URL);

export interface TestDb {
  handle: DbHandle;
  db: AppDb;
  /** The connection URL on Postgres (undefined on PGlite). */
  url: string | undefined;
  close(): Promise<void>;
}

const rand = () => Math.random().toString(36).slice(2, 10);

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** A fresh database. `migrated: false` gives an empty one (for migration tests). */
export async function createTestDb(opts: { migrated?: boolean } = {}): Promise<TestDb> {
  const migrated = opts.migrated ?? true;
  if (TEST_DATABASE_URL) {
    const name = `foreman_t_${process.pid}_${rand()}`;
    await adminQuery(
      migrated ? `create database ${name} template ${inject("pgTemplate")}` : `create database ${name}`,
    );
    const url = withDatabase(TEST_DATABASE_URL, name);
    const handle = openPostgres(url, 20);
    return {
      handle,
      db: handle.db,
      url,
      close: async () => {
        await handle.close();
        await adminQuery(`drop database if exists ${name} with (force)`);
      },
    };
  }
  const client = migrated
    ? await PGlite.create({ loadDataDir: new Blob([readFileSync(inject("pgliteDump"))]) })
    : await PGlite.create();
  const handle = fromPglite(client);
  return { handle, db: handle.db, url: undefined, close: () => handle.close() };
}

/** Registers a per-file database: created before the file's tests, dropped after them. */
export function useTestDb(opts: { migrated?: boolean } = {}): { readonly current: TestDb } {
  const ref: { current?: TestDb } = {};
  beforeAll(async () => {
    ref.current = await createTestDb(opts);
  });
  afterAll(async () => {
    await ref.current?.close();
  });
  return {
    get current(): TestDb {
      if (!ref.current) throw new Error("useTestDb: the database is created in beforeAll");
      return ref.current;
    },
  };
}
