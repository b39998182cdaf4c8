// A Postgres wire endpoint for a test database, for drivers that need a socket (Neon via the ws
// proxy, the Worker under wrangler): the real server's URL, or PGlite served by pglite-socket.
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { TestDb } from "./db.ts";
import { freePort } from "./net.ts";

export interface PgEndpoint {
  url: string;
  close(): Promise<void>;
}

export async function pgEndpoint(t: TestDb): Promise<PgEndpoint> {
  if (t.url) return { url: t.url, close: async () => {} };
  if (t.handle.raw.kind !== "pglite") throw new Error("pgEndpoint: expected a PGlite test database");
  const port = await freePort();
  const server = new PGLiteSocketServer({
    db: t.handle.raw.client,
    port,
    host: "127.0.0.1",
    // Each Worker request opens its own pool; closed sockets are reaped lazily, so leave headroom.
    maxConnections: 64,
  });
  await server.start();
  return { url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, close: () => server.stop() };
}
