// Racing transitions on real PostgreSQL (PGlite runs one statement at a time, so a race there proves
// nothing): of 50 concurrent conflicting transitions of one task (distinct keys) exactly one wins and
// every loser is told who won; 50 concurrent repeats of one key all get the first result back.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openNeon } from "../../db/neon.ts";
import { taskEvents, tasks } from "../../db/schema/index.ts";
import type { AppDb, DbHandle } from "../../db/types.ts";
import { onPostgres, useTestDb } from "../../test/db.ts";
import { freshKey, insertTask } from "../../test/fixtures.ts";
import { startWsProxy, type WsProxy } from "../../test/neon-proxy.ts";
import type { TaskState } from "../states.ts";
import { TransitionConflictError } from "./errors.ts";
import { transition } from "./transition.ts";

const t = useTestDb();

async function race(db: AppDb) {
  const task = await insertTask(db, { status: "ready" });
  const targets: TaskState[] = ["working", "cancelled"];
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, (_, i) =>
      transition(db, {
        key: freshKey(),
        taskId: task.id,
        from: "ready",
        expectedVersion: 0,
        to: targets[i % 2] as TaskState,
        actor: `racer-${i}`,
      }),
    ),
  );
  const won = results.filter((r) => r.status === "fulfilled");
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(49);
  const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof transition>>>).value;
  for (const l of lost) {
    expect(l.reason).toBeInstanceOf(TransitionConflictError);
    expect(l.reason).toMatchObject({
      current: winner.to,
      currentVersion: 1,
      winner: { actor: winner.actor, eventId: winner.eventId, at: winner.at },
    });
  }
  const events = await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ kind: "state_changed", actor: winner.actor });
  const [row] = await db.select().from(tasks).where(eq(tasks.id, task.id));
  expect(row).toMatchObject({ status: winner.to, version: 1, lastEventId: winner.eventId });
}

async function sameKey(db: AppDb) {
  const task = await insertTask(db, { status: "ready" });
  const key = freshKey();
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      transition(db, { taskId: task.id, to: "working", key, actor: "scheduler" }),
    ),
  );
  expect(new Set(results.map((r) => r.eventId)).size).toBe(1);
  expect(results.filter((r) => !r.replayed)).toHaveLength(1);
  expect(await db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))).toHaveLength(1);
}

describe.runIf(onPostgres)("50 concurrent conflicting transitions (real Postgres)", () => {
  let proxy: WsProxy;
  let neon: DbHandle;
  beforeAll(async () => {
    proxy = await startWsProxy();
    neon = openNeon({ url: t.current.url as string, wsProxy: proxy.address, max: 10 });
  });
  afterAll(async () => {
    await neon?.close();
    await proxy?.close();
  });

  it("node-postgres pool: exactly one wins, one event row, 49 conflicts", async () => {
    await race(t.current.db);
  });

  it("Neon WebSocket pool: exactly one wins, one event row, 49 conflicts", async () => {
    await race(neon.db);
  });

  it("one key repeated 50 times concurrently: one move, every caller gets its result", async () => {
    await sameKey(t.current.db);
    await sameKey(neon.db);
  });
});
