// Ids: the readable pattern, sortable by time, and distinct across the random pool's refills.
import { describe, expect, it } from "vitest";
import { ID_PATTERN, newId, stableId } from "./ids.ts";

describe("newId", () => {
  it("matches the pattern, sorts by creation time and never repeats across pool refills", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => newId("task", 1_796_000_000_000 + i));
    for (const id of ids.slice(0, 50)) expect(id).toMatch(ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // Same millisecond: only the random part keeps them apart — 1,000 ids draw 16 KB, four refills
    // of the pool, so a pool that handed out the same bytes twice would repeat here.
    const same = Array.from({ length: 1_000 }, () => newId("run", 1_796_000_000_000));
    expect(new Set(same).size).toBe(same.length);
  });

  it("stableId names the same seed the same way", () => {
    expect(stableId("run", "task_x:1")).toBe(stableId("run", "task_x:1"));
    expect(stableId("run", "task_x:1")).not.toBe(stableId("run", "task_x:2"));
  });
});
