// promote: only triaged dependents whose dependencies are all done move to ready; each move's
// task/state.changed + task/ready leave through the outbox (sent from the step, marked sent), and a
// step that dies half way is retried without losing or doubling an event.
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox, taskDependencies, tasks } from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { toEvent } from "../lib/outbox/message.ts";
import { applyTaskCommand } from "../lib/tasks/command.ts";
import { transition } from "../lib/tasks/transition.ts";
import { countingDb } from "../test/counting-db.ts";
import { useTestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { freshKey, insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { promote } from "./promote.ts";

const t = useTestDb();

const triaged = { triagedAt: new Date() };
const link = (db: AppDb, taskId: string, dependsOnId: string) =>
  db.insert(taskDependencies).values({ taskId, dependsOnId });
const statusOf = async (db: AppDb, id: string) =>
  (await db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;

async function finish(db: AppDb, id: string) {
  const r = await transition(db, { taskId: id, to: "done", key: freshKey(), actor: "client" });
  return toEvent(r.outbox[0] as (typeof r.outbox)[number]) as {
    name: string;
    data: Record<string, unknown>;
    id: string;
  };
}

describe("promote", () => {
  it("moves exactly the dependents that are triaged and fully unblocked, and sends their events", async () => {
    const db = t.current.db;
    const done = await insertTask(db, { status: "awaiting_client_review" });
    const other = await insertTask(db, { status: "working" });
    const ready = await insertTask(db, { status: "intake", ...triaged }); // only depends on `done`
    const waiting = await insertTask(db, { status: "intake", ...triaged }); // also depends on `other`
    const untriaged = await insertTask(db, { status: "intake" });
    await link(db, ready.id, done.id);
    await link(db, waiting.id, done.id);
    await link(db, waiting.id, other.id);
    await link(db, untriaged.id, done.id);
    const trigger = await finish(db, done.id);

    const { deps, events } = testDeps(db);
    const res = await runFunction(promote, { deps, event: trigger });

    expect(res.error).toBeUndefined();
    expect(res.result).toEqual({ promoted: [ready.id] });
    expect(await statusOf(db, ready.id)).toBe("ready");
    expect(await statusOf(db, waiting.id)).toBe("intake");
    expect(await statusOf(db, untriaged.id)).toBe("intake");
    expect(events.sent).toEqual([
      expect.objectContaining({
        name: "task/state.changed",
        id: `state-changed:${ready.id}:1`,
        data: expect.objectContaining({ taskId: ready.id, from: "intake", to: "ready" }),
      }),
      expect.objectContaining({
        name: "task/ready",
        id: `task-ready:${ready.id}:1`,
        data: { taskId: ready.id },
      }),
    ]);
    const rows = await db.select().from(outbox).where(sql`${outbox.data}->>'taskId' = ${ready.id}`);
    expect(rows.every((r) => r.sentAt !== null)).toBe(true);
  });

  it("on a cancel, sends the dependents still in intake to triage with class dependency; a retry goes on without it", async () => {
    const db = t.current.db;
    const dropped = await insertTask(db, { status: "ready" });
    const waiting = await insertTask(db, { status: "intake", ...triaged });
    const untriaged = await insertTask(db, { status: "intake" });
    const running = await insertTask(db, { status: "working" });
    for (const id of [waiting.id, untriaged.id, running.id]) await link(db, id, dropped.id);
    const r = await transition(db, { taskId: dropped.id, to: "cancelled", key: freshKey(), actor: "ops" });
    const event = toEvent(r.outbox[0] as (typeof r.outbox)[number]) as {
      name: string;
      data: Record<string, unknown>;
      id: string;
    };
    const { deps, events } = testDeps(db);
    const res = await runFunction(promote, { deps, event });
    expect(res.result).toEqual({ promoted: [], failed: [waiting.id, untriaged.id].sort() });
    for (const id of [waiting.id, untriaged.id]) {
      const [row] = await db.select().from(tasks).where(eq(tasks.id, id));
      expect(row).toMatchObject({ status: "failed_needs_triage", failureClass: "dependency" });
      expect(row?.statusReason).toContain(`task ${dropped.id}, which it depends on, was cancelled`);
    }
    expect(await statusOf(db, running.id)).toBe("working");
    expect(events.sent.filter((e) => e.name === "task/state.changed")).toHaveLength(2);
    // A person retries it: a cancelled dependency no longer holds it.
    await applyTaskCommand(db, { taskId: waiting.id, action: "retry", key: freshKey(), actor: "ops" });
    expect(await statusOf(db, waiting.id)).toBe("ready");
  });

  it("does nothing and sends nothing when no dependent is unblocked", async () => {
    const db = t.current.db;
    const done = await insertTask(db, { status: "failed_needs_triage" });
    const { deps, events } = testDeps(db);
    const res = await runFunction(promote, { deps, event: await finish(db, done.id) });
    expect(res.result).toEqual({ promoted: [] });
    expect(events.sent).toEqual([]);
  });

  it("dies after moving the first of three dependents; the retry delivers all three, each once", async () => {
    const db = t.current.db;
    const done = await insertTask(db, { status: "awaiting_client_review" });
    const dependents = [];
    for (let i = 0; i < 3; i++) {
      const d = await insertTask(db, { status: "intake", ...triaged });
      await link(db, d.id, done.id);
      dependents.push(d.id);
    }
    dependents.sort();
    const trigger = await finish(db, done.id);

    // 1: list the dependents, 2: move the first, 3: the process dies before the second.
    const dying = testDeps(countingDb(t.current.handle, { dieAt: 3 }).db);
    const first = await runFunction(promote, { deps: dying.deps, event: trigger, runId: "run_promote_1" });
    expect(first.error).toBeDefined();
    expect(await Promise.all(dependents.map((id) => statusOf(db, id)))).toEqual([
      "ready",
      "intake",
      "intake",
    ]);
    expect(dying.events.sent).toEqual([]);

    const retry = testDeps(db);
    const second = await runFunction(promote, { deps: retry.deps, event: trigger, runId: "run_promote_1" });
    expect(second.error).toBeUndefined();
    expect(second.result).toEqual({ promoted: dependents });
    expect(await Promise.all(dependents.map((id) => statusOf(db, id)))).toEqual(["ready", "ready", "ready"]);
    const ids = retry.events.sent.map((e) => e.id);
    expect(ids.sort()).toEqual(
      dependents.flatMap((id) => [`state-changed:${id}:1`, `task-ready:${id}:1`]).sort(),
    );
  });
});
