// Picks the database driver from configuration (Node only; the Worker imports db/neon.ts):
// a Neon URL → Neon serverless; any other DATABASE_URL → node-postgres over TCP; nothing → embedded PGlite.
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { isNeonUrl, openNeon } from "./neon.ts";
import { lockDataDir } from "./pglite-lock.ts";
import { usePreparedStatements } from "./prepared.ts";
import * as schema from "./schema/index.ts";
import type { AppDb, DbHandle } from "./types.ts";

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  /** PGlite data dir; `memory://` for an in-memory database. */
  dataDir?: string | undefined;
  neonWsProxy?: string | undefined;
  poolMax?: number;
}

export async function openDb(opts: OpenDbOptions): Promise<DbHandle> {
  if (opts.databaseUrl) {
    if (isNeonUrl(opts.databaseUrl) || opts.neonWsProxy) {
      return openNeon({ url: opts.databaseUrl, wsProxy: opts.neonWsProxy, max: opts.poolMax ?? 10 });
    }
    return openPostgres(opts.databaseUrl, opts.poolMax ?? 10);
  }
  return openPglite(opts.dataDir ?? ".foreman");
}

export function openPostgres(url: string, max = 10): DbHandle {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on("error", (err) => console.warn(`[db] idle postgres client error: ${err.message}`));
  let closed = false;
  return {
    db: usePreparedStatements(drizzlePg({ client: pool, schema }) as unknown as AppDb),
    kind: "postgres",
    raw: { kind: "postgres", pool },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

export async function openPglite(dataDir: string): Promise<DbHandle & { client: PGlite }> {
  const inMemory = dataDir.startsWith("memory://");
  const release = inMemory ? () => {} : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(inMemory ? dataDir : join(dataDir, "pgdata"));
  } catch (err) {
    release();
    throw err;
  }
  return fromPglite(client, release);
}

/** Wraps an existing PGlite instance (tests clone one migrated instance per file). */
export function fromPglite(client: PGlite, release: () => void = () => {}): DbHandle & { client: PGlite } {
  let closed = false;
  return {
    client,
    db: drizzlePglite({ client, schema }) as unknown as AppDb,
    kind: "pglite",
    raw: { kind: "pglite", client },
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}
