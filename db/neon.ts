// The Neon serverless driver (WebSocket Pool, interactive transactions). The only driver the Worker
// bundle imports. A pool belongs to one request or one step: on Workers a module-level pool does not
// survive between requests.
import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle } from "drizzle-orm/neon-serverless";
import * as schema from "./schema/index.ts";
import type { AppDb, DbHandle } from "./types.ts";

export interface NeonOptions {
  url: string;
  /** Dev/test only: route the driver's WebSocket through a local proxy (`host:port`) in plain ws://. */
  wsProxy?: string | undefined;
  max?: number;
}

export function openNeon(opts: NeonOptions): DbHandle {
  if (opts.wsProxy) {
    const proxy = opts.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}/v1?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    // Required against a server using SCRAM auth (a local Postgres); Neon itself tolerates either.
    neonConfig.pipelineConnect = false;
  }
  const pool = new Pool({ connectionString: opts.url, max: opts.max ?? 10 });
  // An idle client whose socket dies emits 'error'; unhandled, it would crash the isolate.
  pool.on("error", (err: unknown) => {
    // Over WebSockets this can be a bare ErrorEvent (no message) when the socket drops.
    const e = err as { message?: string; type?: string };
    console.warn(`[db] idle neon client error: ${e.message || e.type || String(err)}`);
  });
  const db = drizzle({ client: pool, schema }) as unknown as AppDb;
  let closed = false;
  return {
    db,
    kind: "neon",
    raw: { kind: "neon", pool },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/** True for URLs that point at Neon's hosted service, which the TCP driver cannot reach from Workers. */
export const isNeonUrl = (url: string): boolean => {
  try {
    return new URL(url).hostname.endsWith(".neon.tech");
  } catch {
    return false;
  }
};
