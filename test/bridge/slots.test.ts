// The slot semaphore on its own: capacity, FIFO order, refusals (full queue, timeout, abort, close)
// and capacity changes. Fake timers drive the queue timeout, so nothing here depends on real time.
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Release, SlotError, Slots } from "../../api/bridge/slots.ts";

const reason = (p: Promise<unknown>) =>
  p.then(
    () => "granted",
    (e: unknown) => (e instanceof SlotError ? e.reason : `unexpected ${String(e)}`),
  );

afterEach(() => {
  vi.useRealTimers();
});

describe("Slots", () => {
  it("grants up to capacity at once and queues the rest", async () => {
    const slots = new Slots({ capacity: 2, maxQueue: 5, timeoutMs: 1000 });
    await slots.acquire();
    await slots.acquire();
    let third = false;
    void slots.acquire().then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(slots.busy).toBe(2);
    expect(slots.queued).toBe(1);
    expect(third).toBe(false);
  });

  it("hands freed slots to waiters in arrival order", async () => {
    const slots = new Slots({ capacity: 1, maxQueue: 5, timeoutMs: 1000 });
    const first = await slots.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      slots.acquire().then((release) => {
        order.push(n);
        return release;
      }),
    );
    first();
    ((await waiters[0]) as Release)();
    ((await waiters[1]) as Release)();
    ((await waiters[2]) as Release)();
    expect(order).toEqual([1, 2, 3]);
    expect(slots.busy).toBe(0);
  });

  it("refuses with queue_full once the queue is at its limit", async () => {
    const slots = new Slots({ capacity: 1, maxQueue: 1, timeoutMs: 1000 });
    await slots.acquire();
    void slots.acquire();
    expect(await reason(slots.acquire())).toBe("queue_full");
  });

  it("refuses at once when the queue limit is 0 and every slot is busy", async () => {
    const slots = new Slots({ capacity: 1, maxQueue: 0, timeoutMs: 1000 });
    await slots.acquire();
    expect(await reason(slots.acquire())).toBe("queue_full");
  });

  it("refuses a waiter with queue_timeout when its wait expires, and frees its place", async () => {
    vi.useFakeTimers();
    const slots = new Slots({ capacity: 1, maxQueue: 1, timeoutMs: 500 });
    await slots.acquire();
    const waiting = reason(slots.acquire());
    vi.advanceTimersByTime(500);
    expect(await waiting).toBe("queue_timeout");
    expect(slots.queued).toBe(0);
    void slots.acquire().catch(() => {});
    expect(slots.queued).toBe(1); // its place in the queue is free again
  });

  it("removes an aborted waiter without giving it a slot", async () => {
    const slots = new Slots({ capacity: 1, maxQueue: 2, timeoutMs: 1000 });
    const held = await slots.acquire();
    const ac = new AbortController();
    const aborted = reason(slots.acquire(ac.signal));
    const next = slots.acquire();
    ac.abort();
    expect(await aborted).toBe("aborted");
    held();
    (await next)();
    expect(slots.busy).toBe(0);
    expect(await reason(slots.acquire(AbortSignal.abort()))).toBe("aborted");
  });

  it("counts a double release once", async () => {
    const slots = new Slots({ capacity: 2, maxQueue: 0, timeoutMs: 1000 });
    const release = await slots.acquire();
    await slots.acquire();
    release();
    release();
    expect(slots.busy).toBe(1);
  });

  it("wakes waiters when capacity grows and admits none while it is below busy", async () => {
    const slots = new Slots({ capacity: 2, maxQueue: 5, timeoutMs: 1000 });
    const a = await slots.acquire();
    await slots.acquire();
    slots.setCapacity(1);
    const waiting = slots.acquire();
    a();
    await Promise.resolve();
    expect(slots.busy).toBe(1);
    expect(slots.queued).toBe(1);
    slots.setCapacity(3);
    await waiting;
    expect(slots.busy).toBe(2);
  });

  it("close refuses queued waiters and later acquires; granted slots stay valid", async () => {
    const slots = new Slots({ capacity: 1, maxQueue: 5, timeoutMs: 1000 });
    const held = await slots.acquire();
    const queued = reason(slots.acquire());
    slots.close();
    expect(await queued).toBe("closed");
    expect(await reason(slots.acquire())).toBe("closed");
    held();
    expect(slots.busy).toBe(0);
  });
});
