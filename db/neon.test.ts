// The Neon serverless driver (WebSocket Pool) runs the transition service through a local ws→TCP
// proxy: against real Postgres with TEST_DATABASE_URL, against PGlite (pglite-socket) otherwise.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidTransitionError, TransitionConflictError } from "../lib/tasks/errors.ts";
import { transition } from "../lib/tasks/transition.ts";
import { useTestDb } from "../test/db.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";
import { startWsProxy, type WsProxy } from "../test/neon-proxy.ts";
import { type PgEndpoint, pgEndpoint } from "../test/pg-endpoint.ts";
import { openNeon } from "./neon.ts";
import { taskEvents, tasks } from "./schema/index.ts";
import type { DbHandle } from "./types.ts";

const t = useTestDb();
let proxy: WsProxy;
let endpoint: PgEndpoint;
let neon: DbHandle;

beforeAll(async () => {
  proxy = await startWsProxy();
  endpoint = await pgEndpoint(t.current);
  neon = openNeon({ url: endpoint.url, wsProxy: proxy.address, max: 4 });
});
afterAll(async () => {
  await neon?.close();
  await endpoint?.close();
  await proxy?.close();
});

describe("Neon serverless driver", () => {
  it("runs a transition as one compare-and-set with its event row", async () => {
    const task = await insertTask(neon.db, { status: "ready" });
    const r = await transition(neon.db, { key: freshKey(), taskId: task.id, to: "working", actor: "neon" });
    const [row] = await neon.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row).toMatchObject({ status: "working", version: 1, lastEventId: r.eventId });
    const events = await neon.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(events.map((e) => e.kind)).toEqual(["state_changed"]);
  });

  it("refuses illegal and stale transitions with typed errors", async () => {
    const task = await insertTask(neon.db, { status: "done" });
    await expect(
      transition(neon.db, { key: freshKey(), taskId: task.id, to: "working", actor: "neon" }),
    ).rejects.toBeInstanceOf(InvalidTransitionError);
    const other = await insertTask(neon.db, { status: "ready" });
    await transition(neon.db, { key: freshKey(), taskId: other.id, to: "cancelled", actor: "a" });
    await expect(
      transition(neon.db, {
        key: freshKey(),
        taskId: other.id,
        from: "ready",
        expectedVersion: 0,
        to: "working",
        actor: "b",
      }),
    ).rejects.toBeInstanceOf(TransitionConflictError);
  });

  it("rolls back an interactive transaction that throws", async () => {
    const task = await insertTask(neon.db, { status: "intake" });
    await expect(
      neon.db.transaction(async (tx) => {
        await tx.update(tasks).set({ title: "changed" }).where(eq(tasks.id, task.id));
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    const [row] = await neon.db.select().from(tasks).where(eq(tasks.id, task.id));
    expect(row?.title).toBe("fixture task");
  });
});
