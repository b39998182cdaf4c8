// Group commit for submissions: concurrent callers share statements, each gets its own task; one bad
// submission in a batch fails alone; a bad input is refused before it is queued.

import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { countingDb } from "../../test/counting-db.ts";
import { useTestDb } from "../../test/db.ts";
import { submitShared } from "./submit-batcher.ts";

const t = useTestDb();
const api = { source: "api" as const, actor: "api" };

describe("submitShared", () => {
  it("writes 20 concurrent submissions in fewer statements than submissions, each its own task", async () => {
    const counter = countingDb(t.current.handle);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => submitShared(counter.db, { title: `shared ${i}` }, api)),
    );
    expect(new Set(results.map((r) => r.task.id)).size).toBe(20);
    expect(results.map((r) => r.task.title)).toEqual(Array.from({ length: 20 }, (_, i) => `shared ${i}`));
    expect(results.every((r) => r.created && r.outbox.length === 1)).toBe(true);
    expect(counter.trips()).toBeLessThan(20);
  });

  it("fails only the submission whose foreign key is bad, and only that one", async () => {
    const db = countingDb(t.current.handle).db;
    const results = await Promise.allSettled([
      submitShared(db, { title: "good 1" }, api),
      submitShared(db, { title: "bad", project: "proj_missing" }, api),
      submitShared(db, { title: "good 2" }, api),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      code: "VALIDATION",
      field: "project",
    });
  });

  it("refuses a bad input before queueing it, with submitTask's ZodError", async () => {
    expect(() => submitShared(t.current.db, { title: "" }, api)).toThrow(ZodError);
  });

  it("answers repeated keys within one batch with the same task", async () => {
    const [a, b] = await Promise.all([
      submitShared(t.current.db, { title: "keyed" }, { ...api, sourceRef: "shared-key-1" }),
      submitShared(t.current.db, { title: "keyed" }, { ...api, sourceRef: "shared-key-1" }),
    ]);
    expect(a?.task.id).toBe(b?.task.id);
    expect([a?.created, b?.created].filter(Boolean)).toHaveLength(1);
  });
});
