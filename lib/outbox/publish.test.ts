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
});
