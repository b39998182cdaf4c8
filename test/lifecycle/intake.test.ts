// Lifecycle through the test router (no engine): tasks submitted through the API are triaged by
// intake and reach ready; a dependent waits in intake until its dependency is done, then promote
// moves it — every step in the event log, every event delivered once by id.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { taskEvents, tasks } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { publish } from "../../lib/outbox/publish.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey } from "../fixtures.ts";
import { routeEvents } from "../lifecycle.ts";

const t = useTestDb();
// Intake and promotion only: scheduling and work have their own lifecycle tests.
const intakeStage = functions.filter((f) => ["intake", "promote"].includes(f.id()));
type Json = Record<string, any>;

describe("lifecycle: API → intake → ready → done → promote", () => {
  it("triages both, holds the dependent, and promotes it when its dependency is done", async () => {
    const api = testApp(t.current.db);
    const post = async (json: unknown) =>
      ((await (await api.request("/api/tasks", { method: "POST", json })).json()) as Json).task;
    const first = await post({ title: "Create the Service Hub pipeline" });
    const second = await post({ title: "Add the ticket properties", depends_on: [first.id] });

    const runs = await routeEvents(intakeStage, api.deps, api.events);
    expect(runs.map((r) => [r.fn, r.error])).toEqual([
      ["intake", undefined],
      ["intake", undefined],
    ]);
    const status = async (id: string) =>
      (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
    expect(await status(first.id)).toBe("ready");
    expect(await status(second.id)).toBe("intake");

    // The first task is worked and approved (later issues' functions); here its moves are direct.
    for (const to of ["working", "awaiting_client_review", "done"] as const) {
      const r = await transition(t.current.db, { taskId: first.id, to, key: freshKey(), actor: "test" });
      await publish(api.deps, r.outbox);
    }
    const more = await routeEvents(intakeStage, api.deps, api.events);
    expect(more.map((r) => r.fn)).toContain("promote");
    expect(await status(second.id)).toBe("ready");
    const log = await t.current.db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, second.id))
      .orderBy(taskEvents.id);
    expect(log.map((e) => e.kind)).toEqual(["submitted", "triage", "state_changed"]);
    expect(log.at(-1)?.payload).toMatchObject({
      from: "intake",
      to: "ready",
      reason: `dependency ${first.id} is done`,
    });
    // Every event id was sent exactly once.
    const ids = api.events.sent.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
