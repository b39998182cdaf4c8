// The burst: 200 tasks (half from HubSpot tickets, half from the API) × 5 transitions, all fired
// within about five seconds, against the rate-limited HubSpot fake, through the engine simulation
// (debounce per task, batches of up to 100, the account-wide throttle, retries after HubSpot's
// delay). Every sync succeeds, every ticket ends in its task's final stage with the right task_id
// and last_event_id, and the calls stay far below one per transition. With the portal's budget
// nearly used up by someone else, the 429s are absorbed by waiting out HubSpot's window.
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crmLinks, tasks } from "../../db/schema/index.ts";
import type { TaskState } from "../../lib/states.ts";
import { useTestDb } from "../db.ts";
import type { FakeHubSpot } from "../fakes/hubspot.ts";
import { type CrmBed, crmBed, startCrmFake } from "./harness.ts";
import type { EngineSim } from "./sim.ts";

const t = useTestDb();
let crm: { fake: FakeHubSpot; use(sim: EngineSim): void };
beforeAll(async () => {
  crm = await startCrmFake();
});
afterAll(async () => {
  await crm?.fake.close();
});

const PATH: TaskState[] = ["ready", "working", "awaiting_internal_review", "awaiting_client_review", "done"];
const TASKS = 200;

/** Submits the tasks and lets their first syncs settle; returns their ids. */
async function seed(bed: CrmBed, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    if (i % 2 === 0) {
      const ticketId = `${tag}${String(i).padStart(4, "0")}`;
      bed.fake.addTicket({
        id: ticketId,
        properties: { subject: `Ticket ${i}`, hs_pipeline: "0", hs_pipeline_stage: "1" },
      });
      ids.push(await bed.submit({ ticketId, title: `Ticket ${i}` }));
    } else {
      ids.push(await bed.submit({ title: `API task ${i}` }));
    }
  }
  await bed.sim.runUntilIdle();
  return ids;
}

/** 1,000 transitions: task i's five moves start at i × 10 ms and come 600 ms apart (≈ 4.4 s in all). */
async function burst(bed: CrmBed, ids: string[]): Promise<{ start: number; end: number }> {
  const start = bed.sim.now + 1_000;
  ids.forEach((id, i) => {
    PATH.forEach((to, k) => {
      void bed.move(id, to, start + i * 10 + k * 600);
    });
  });
  bed.fake.reset();
  bed.sim.runs.length = 0;
  await bed.sim.runUntilIdle();
  return { start, end: Math.max(...bed.sim.runs.map((r) => r.endedAt)) };
}

async function expectConverged(bed: CrmBed, ids: string[]) {
  const rows = await t.current.db.select().from(tasks).where(inArray(tasks.id, ids));
  expect(rows.every((r) => r.status === "done")).toBe(true);
  const links = await t.current.db.select().from(crmLinks).where(inArray(crmLinks.taskId, ids));
  expect(links).toHaveLength(TASKS);
  const wrong = rows.filter((r) => {
    const link = links.find((l) => l.taskId === r.id);
    const ticket = bed.fake.tickets.get(link?.ticketId ?? "");
    return (
      ticket?.properties.hs_pipeline_stage !== bed.mapping.stageIds.done ||
      ticket.properties.task_id !== r.id ||
      ticket.properties.last_event_id !== String(r.lastEventId)
    );
  });
  expect(wrong.map((r) => r.id)).toEqual([]);
  // No task has two tickets.
  const byTask = new Map<string, number>();
  for (const tk of bed.fake.tickets.values()) {
    const id = tk.properties.task_id;
    if (id && ids.includes(id)) byTask.set(id, (byTask.get(id) ?? 0) + 1);
  }
  expect([...byTask.values()].every((n) => n === 1)).toBe(true);
}

describe("crm sync under a burst", () => {
  it("1,000 transitions across 200 tasks: zero failed syncs, every final stage right, ≤ 0.5 calls per transition", async () => {
    const bed = await crmBed(t.current.db, crm);
    const ids = await seed(bed, "51");
    const { start, end } = await burst(bed, ids);

    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
    await expectConverged(bed, ids);
    const calls = bed.fake.calls.length;
    expect(calls / (TASKS * PATH.length)).toBeLessThanOrEqual(0.5);
    expect(bed.fake.rateLimited()).toBe(0); // the throttle kept the burst under HubSpot's window
    // Tickets were written in batches, never one PATCH per event.
    expect(bed.fake.callsTo("POST", "/crm/v3/objects/tickets/batch/update").length).toBeGreaterThan(0);
    expect(end - start).toBeLessThan(60_000);
    console.log(
      `burst: ${calls} HubSpot calls for ${TASKS * PATH.length} transitions (${(calls / (TASKS * PATH.length)).toFixed(3)}/transition), converged ${((end - start) / 1000).toFixed(1)} s (virtual) after the first`,
    );
  });

  it("absorbs the 429s of a portal whose budget is nearly spent, and still converges", async () => {
    // Another integration leaves this app one request per 10 s.
    const bed = await crmBed(t.current.db, crm, {
      rateLimit: { max: 1, intervalMs: 10_000, dailyMax: 250_000 },
    });
    const ids = await seed(bed, "52");
    await burst(bed, ids);

    expect(bed.fake.rateLimited()).toBeGreaterThan(0);
    const pushes = bed.sim.of("crm-push");
    expect(pushes.reduce((n, r) => n + r.rateLimited, 0)).toBeGreaterThan(0);
    expect(bed.sim.runs.filter((r) => r.failed)).toEqual([]);
    await expectConverged(bed, ids);
    const [one] = await t.current.db
      .select()
      .from(crmLinks)
      .where(eq(crmLinks.taskId, ids[1] as string));
    expect(one?.refusedVersion).toBeNull();
  });
});
