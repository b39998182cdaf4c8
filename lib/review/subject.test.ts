// What the review reads of its task: the project's internal-stamp requirement is a floor. A task row
// that says "no stamp" (a triage written before the floor, or any other writer) on a project that
// requires one still gets the internal stage; a task may add a stamp its project does not require.
import { describe, expect, it } from "vitest";
import { projects } from "../../db/schema/index.ts";
import { useTestDb } from "../../test/db.ts";
import { submittedDeliverable } from "../../test/fixtures.ts";
import { loadReviewSubject } from "./run.ts";

const t = useTestDb();

describe("loadReviewSubject", () => {
  it("requires the internal stamp when the project does, whatever the task row says", async () => {
    const db = t.current.db;
    await db.insert(projects).values([
      { id: "proj_stamp", name: "Stamped", requiresInternalStamp: true },
      { id: "proj_free", name: "Client only", requiresInternalStamp: false },
    ]);
    const required = async (projectId: string, requiresInternalStamp: boolean | null) => {
      const s = await submittedDeliverable(db, { task: { projectId, requiresInternalStamp } });
      return (await loadReviewSubject(db, s.taskId, s.deliverableId))?.internalStampRequired;
    };
    expect(await required("proj_stamp", false)).toBe(true);
    expect(await required("proj_stamp", null)).toBe(true);
    expect(await required("proj_free", false)).toBe(false);
    expect(await required("proj_free", null)).toBe(false);
    expect(await required("proj_free", true)).toBe(true);
  });
});
