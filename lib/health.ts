// Database reachability for /health.
import { sql } from "drizzle-orm";
import type { AppDb } from "../db/types.ts";

export async function pingDb(db: AppDb): Promise<{ ok: true } | { ok: false; error: string }> {
  try {
    await db.execute(sql`select 1`);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
