// Publishing and its "sent" marks: written after each batch by default (a Worker's Deps live for one
// request), or — deferred, in the long-lived Node server — many batches' marks in one UPDATE, flushed
// by publishSettled at the latest.
import { inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox } from "../../db/schema/index.ts";
import { countingDb } from "../../test/counting-db.ts";
import { useTestDb } from "../../test/db.ts";
import { testDeps } from "../../test/deps.ts";
import { taskSubmitted } from "../events.ts";
import type { OutboxMessage } from "./message.ts";
import { deferSentMarks, publish, publishSettled } from "./publish.ts";
import { recordOutbox } from "./record.ts";

const t = useTestDb();

const message = (n: string): OutboxMessage => ({
  eventId: `task-submitted:task_pub${n}`,
  name: taskSubmitted.name,
  data: { taskId: `task_pub${n}`, source: "api" },
});

async function pendingRows(tag: string, count: number) {
  const messages = Array.from({ length: count }, (_, i) => message(`${tag}${i}`));
  await recordOutbox(t.current.db, messages);
  return messages;
}

const sentAt = async (messages: OutboxMessage[]) =>
  (
    await t.current.db
      .select({ sentAt: outbox.sentAt })
      .from(outbox)
      .where(
        inArray(
          outbox.eventId,
          messages.map((m) => m.eventId),
        ),
      )
  ).map((r) => r.sentAt);

describe("publish", () => {
  it("marks each batch sent right after it is sent, by default", async () => {
    const counter = countingDb(t.current.handle);
    const { deps, events } = testDeps(counter.db);
    const batches = [await pendingRows("a", 2), await pendingRows("b", 1)];
    counter.reset();
    for (const b of batches) expect(await publish(deps, b)).toEqual({ sent: b.length });
    await publishSettled(deps);
    expect(events.sent.map((e) => e.id)).toEqual(batches.flat().map((m) => m.eventId));
    expect((await sentAt(batches.flat())).every((s) => s !== null)).toBe(true);
    expect(counter.trips()).toBe(2); // one "sent" UPDATE per batch
  });

  it("deferred: writes many batches' marks in one UPDATE, at publishSettled at the latest", async () => {
    const counter = countingDb(t.current.handle);
    const { deps, events } = testDeps(counter.db);
    deferSentMarks(deps, 60_000);
    const batches = [await pendingRows("c", 2), await pendingRows("d", 1), await pendingRows("e", 3)];
    counter.reset();
    for (const b of batches) expect(await publish(deps, b)).toEqual({ sent: b.length });
    expect(events.sent).toHaveLength(6);
    // Sent, not yet marked: a crash here only makes the drain re-send ids the engine already has.
    expect(counter.trips()).toBe(0);
    expect(await sentAt(batches.flat())).toEqual([null, null, null, null, null, null]);
    await publishSettled(deps);
    expect(counter.trips()).toBe(1);
    expect((await sentAt(batches.flat())).every((s) => s !== null)).toBe(true);
  });

  it("deferred: the timer writes the marks without anyone asking", async () => {
    const { deps } = testDeps(t.current.db);
    deferSentMarks(deps, 20);
    const rows = await pendingRows("f", 2);
    await publish(deps, rows);
    await expect
      .poll(async () => (await sentAt(rows)).every((s) => s !== null), { timeout: 2000 })
      .toBe(true);
  });

  it("deferred: one mark at a time — a slow one does not have others pile up behind it", async () => {
    let running = 0;
    let most = 0;
    let marks = 0;
    const slow = new Proxy(t.current.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== "execute") return value;
        return async (...args: unknown[]) => {
          running++;
          marks++;
          most = Math.max(most, running);
          await new Promise((r) => setTimeout(r, 30));
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            running--;
          }
        };
      },
    });
    const { deps } = testDeps(slow);
    deferSentMarks(deps, 1);
    const batches = await Promise.all(Array.from({ length: 8 }, (_, i) => pendingRows(`g${i}`, 2)));
    for (const b of batches) {
      await publish(deps, b);
      await new Promise((r) => setTimeout(r, 5));
    }
    await publishSettled(deps);
    expect(most).toBe(1);
    expect(marks).toBeGreaterThan(1);
    expect(marks).toBeLessThan(8);
    expect((await sentAt(batches.flat())).every((s) => s !== null)).toBe(true);
  });

  it("deferred: marks beyond one UPDATE's 1,000 ids are written by the timer too", async () => {
    const { deps } = testDeps(t.current.db);
    deferSentMarks(deps, 20);
    const rows = await pendingRows("h", 1_100);
    expect(await publish(deps, rows)).toEqual({ sent: 1_100 });
    await expect
      .poll(async () => (await sentAt(rows)).filter((s) => s === null).length, { timeout: 3000 })
      .toBe(0);
  });
});
