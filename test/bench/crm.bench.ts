// Benchmark: the HubSpot pipeline sync under a burst — 200 tasks × 5 transitions fired within about
// five seconds — against the same rate-limited HubSpot fake (a private app's 100 requests per rolling
// 10 s), in one run, two ways:
//   foreman: crm-sync (debounced per task) → crm-push (batches of ≤ 100, throttled account-wide),
//            state-based, retried after HubSpot's window on a 429;
//   naive:   one PATCH per task/state.changed event with the event's stage, no debounce, no
//            throttle, each 429 retried after HubSpot's window (what the engine's retries would do).
// Both run in the engine simulation (test/crm/sim.ts): virtual time for debounce, batching, throttle
// and retry delays, which the fake's rate-limit window reads too, while every call is a real SDK
// request to the fake over HTTP. Tickets exist and are linked before the burst, so both only move
// stages. Prints HubSpot calls per transition, 429 answers, failed syncs, wrong final stages and the
// virtual time from the first transition until every ticket is right.
//
//   node test/bench/crm.bench.ts   (env: BENCH_DATABASE_URL to run on PostgreSQL; default PGlite)
//
// Goal: foreman ≤ 0.5 calls per transition and zero 429s; the naive baseline's 429s are reported.
import { PGlite } from "@electric-sql/pglite";
import { eq, inArray } from "drizzle-orm";
import pg from "pg";
import { fromPglite, openPostgres } from "../../db/client.ts";
import { migrateDb } from "../../db/migrate.ts";
import { crmLinks, tasks } from "../../db/schema/index.ts";
import type { DbHandle } from "../../db/types.ts";
import { createHubSpotClient } from "../../lib/hubspot/client.ts";
import { fromHubSpotError } from "../../lib/hubspot/errors.ts";
import { publish } from "../../lib/outbox/publish.ts";
import type { TaskState } from "../../lib/states.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { crmBed, startCrmFake } from "../crm/harness.ts";
import { EngineSim } from "../crm/sim.ts";
import { FAKE_HUBSPOT_TOKEN } from "../fakes/hubspot.ts";

const TASKS = 200;
const PATH: TaskState[] = ["ready", "working", "awaiting_internal_review", "awaiting_client_review", "done"];
const TRANSITIONS = TASKS * PATH.length;

async function openBenchDb(): Promise<{ handle: DbHandle; close(): Promise<void> }> {
  const base = process.env.BENCH_DATABASE_URL;
  if (!base) {
    const handle = fromPglite(await PGlite.create());
    await migrateDb(handle);
    return { handle, close: () => handle.close() };
  }
  const name = `foreman_bench_crm_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const handle = openPostgres(url.toString(), 10);
  await migrateDb(handle);
  return {
    handle,
    close: async () => {
      await handle.close();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

const { handle, close } = await openBenchDb();
const db = handle.db;
const crm = await startCrmFake();
try {
  // Both task sets are created and their tickets made (through foreman's own sync) before the burst.
  const bed = await crmBed(db, crm);
  const make = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await bed.submit({ title: `Bench task ${i}` }));
    await bed.sim.runUntilIdle();
    return ids;
  };
  const foremanIds = await make(TASKS);
  const naiveIds = await make(TASKS);

  /** Task i's five moves start at i × 10 ms and come 600 ms apart: 1,000 transitions in ≈ 4.4 s. */
  const schedule = (sim: EngineSim, ids: string[], move: (id: string, to: TaskState, at: number) => void) => {
    const start = sim.now + 1_000;
    ids.forEach((id, i) => {
      PATH.forEach((to, k) => {
        move(id, to, start + i * 10 + k * 600);
      });
    });
    return start;
  };
  const wrongStages = async (ids: string[]) => {
    const links = await db.select().from(crmLinks).where(inArray(crmLinks.taskId, ids));
    return links.filter(
      (l) =>
        bed.fake.tickets.get(l.ticketId ?? "")?.properties.hs_pipeline_stage !== bed.mapping.stageIds.done,
    ).length;
  };

  // ---- foreman ------------------------------------------------------------------------------------
  const f = await crmBed(db, crm);
  const fStart = schedule(f.sim, foremanIds, (id, to, at) => void f.move(id, to, at));
  const fWall = performance.now();
  await f.sim.runUntilIdle();
  const foreman = {
    calls: f.fake.calls.length,
    limited: f.fake.rateLimited(),
    failed: f.sim.runs.filter((r) => r.failed).length,
    wrong: await wrongStages(foremanIds),
    converged: Math.max(...f.sim.of("crm-push").map((r) => r.endedAt)) - fStart,
    wall: performance.now() - fWall,
  };

  // ---- naive --------------------------------------------------------------------------------------
  const n = await crmBed(db, crm);
  const client = createHubSpotClient({ accessToken: FAKE_HUBSPOT_TOKEN, baseUrl: n.fake.url });
  const stageOf = n.mapping.stageIds;
  const lastWrite = { at: 0 };
  const naiveSim = new EngineSim({
    start: n.sim.now,
    sender: n.events,
    consumers: [
      {
        name: "naive",
        events: ["task/state.changed"],
        intake: { kind: "immediate" },
        retries: 20,
        run: async ([e]) => {
          const data = e?.data as { taskId: string; to: TaskState; eventId: number };
          try {
            await client.crm.tickets.basicApi.update(
              data.taskId,
              { properties: { hs_pipeline_stage: stageOf[data.to], last_event_id: String(data.eventId) } },
              "task_id",
            );
            lastWrite.at = naiveSim.now;
            return {};
          } catch (err) {
            return { error: fromHubSpotError(err, `task ${data.taskId}`) };
          }
        },
      },
    ],
  });
  crm.use(naiveSim);
  n.deps.now = () => new Date(naiveSim.now);
  const nStart = schedule(naiveSim, naiveIds, (id, to, at) => {
    naiveSim.at(at, async () => {
      const r = await transition(db, { taskId: id, to, key: `bench:${crypto.randomUUID()}`, actor: "bench" });
      await publish(n.deps, r.outbox);
    });
  });
  const nWall = performance.now();
  await naiveSim.runUntilIdle();
  const naive = {
    calls: n.fake.calls.length,
    limited: n.fake.rateLimited(),
    failed: naiveSim.runs.filter((r) => r.failed).length,
    wrong: await wrongStages(naiveIds),
    converged: lastWrite.at - nStart,
    wall: performance.now() - nWall,
  };
  const [done] = await db
    .select()
    .from(tasks)
    .where(eq(tasks.id, foremanIds[0] as string));
  if (done?.status !== "done") throw new Error("bench: the tasks did not reach done");

  const row = (name: string, r: typeof foreman) =>
    `${name.padEnd(8)} ${String(r.calls).padStart(6)} ${(r.calls / TRANSITIONS).toFixed(3).padStart(10)} ${String(r.limited).padStart(6)} ${String(r.failed).padStart(7)} ${String(r.wrong).padStart(7)} ${(r.wrong > 0 ? "never" : `${(r.converged / 1000).toFixed(1)} s`).padStart(12)} ${(r.wall / 1000).toFixed(1).padStart(7)} s`;
  console.log(`${TRANSITIONS} transitions across ${TASKS} tasks, HubSpot fake at 100 requests / 10 s`);
  console.log("way       calls  calls/tr.    429  failed   wrong     converge    wall");
  console.log(row("foreman", foreman));
  console.log(row("naive", naive));
  console.log(
    `calls ratio foreman/naive: ${(foreman.calls / naive.calls).toFixed(4)}×; ` +
      `goal: ≤ 0.5 calls per transition (${foreman.calls / TRANSITIONS <= 0.5 ? "met" : "MISSED"}), ` +
      `zero 429s (${foreman.limited === 0 ? "met" : "MISSED"}); naive 429s: ${naive.limited}` +
      (naive.wrong > 0 ? `; naive left ${naive.wrong} tickets in a wrong final stage` : ""),
  );
  console.log(
    "(converge: virtual engine time from the first transition to the last write; wall: this process)",
  );
} finally {
  await crm.fake.close();
  await close();
}
