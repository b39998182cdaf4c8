// A query-counting driver wrapper: the same database through a drizzle instance whose driver client
// counts every round trip (query, exec, transaction, connect + its queries). Tests use it to hold the
// write path to its budget of one statement, and `dieAt` to stop a process at its n-th trip.
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import * as schema from "../db/schema/index.ts";
import type { AppDb, DbHandle } from "../db/types.ts";

export interface CountingDb {
  db: AppDb;
  trips(): number;
  reset(): void;
  /** The SQL text of each trip, for a failing assertion's message. */
  log: string[];
}

const COUNTED = new Set(["query", "exec", "transaction"]);

function counting<T extends object>(
  target: T,
  onTrip: (what: string) => void,
  wrapResult?: (v: unknown) => unknown,
): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== "function") return value;
      if (COUNTED.has(String(prop))) {
        return (...args: unknown[]) => {
          const text =
            typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? String(prop));
          try {
            onTrip(text);
          } catch (err) {
            return Promise.reject(err);
          }
          return value.apply(obj, args);
        };
      }
      if (prop === "connect" && wrapResult) {
        return async (...args: unknown[]) => wrapResult(await value.apply(obj, args));
      }
      return value.bind(obj);
    },
  });
}

export function countingDb(handle: DbHandle, opts: { dieAt?: number } = {}): CountingDb {
  const log: string[] = [];
  const onTrip = (text: string) => {
    log.push(text.replace(/\s+/g, " ").slice(0, 160));
    if (log.length === opts.dieAt) throw new Error("process killed");
  };
  let db: AppDb;
  switch (handle.raw.kind) {
    case "pglite":
      db = drizzlePglite({ client: counting(handle.raw.client, onTrip), schema }) as unknown as AppDb;
      break;
    case "postgres":
      db = drizzlePg({
        client: counting(handle.raw.pool, onTrip, (client) => counting(client as object, onTrip)),
        schema,
      }) as unknown as AppDb;
      break;
    default:
      throw new Error(`countingDb: no counting wrapper for ${handle.raw.kind}`);
  }
  return {
    db,
    log,
    trips: () => log.length,
    reset: () => {
      log.length = 0;
    },
  };
}
