// 100 concurrent conflicting human decisions on one task, on real PostgreSQL (PGlite runs one
// statement at a time, so a race there proves nothing): approve vs reject vs request changes, through
// Slack, client links and the API at once, over a pool with many real connections. Exactly one
// decision moves the task (one state_changed event, one stamps row, one task/stamped outbox row, the
// state its decision means); each of the 99 others is refused with the winner's actor and time, and
// nothing answers 5xx or throws anything but that refusal.
import { and, eq, gt, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgres } from "../../db/client.ts";
import { rowsOf } from "../../db/rows.ts";
import {
  outbox,
  reviewers,
  stampLinks,
  stamps,
  taskEvents,
  tasks,
  workerLeases,
} from "../../db/schema/index.ts";
import type { AppDb, DbHandle } from "../../db/types.ts";
import { isDomainError } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { leaseTask } from "../../lib/scheduler/lease.ts";
import type { StampAction } from "../../lib/slack/payload.ts";
import { type StampDecision, targetOf } from "../../lib/stamps/apply.ts";
import { verifyStampToken } from "../../lib/stamps/link.ts";
import { decideThroughLink, mintClientLink } from "../../lib/stamps/links.ts";
import { stampFromSlack } from "../../lib/stamps/slack.ts";
import type { StampStage } from "../../lib/states.ts";
import type { Winner } from "../../lib/tasks/errors.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { storeDeliverable } from "../../lib/work/deliverable.ts";
import { releaseRun } from "../../lib/work/release.ts";
import { onPostgres, useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey, insertTask } from "../fixtures.ts";

const t = useTestDb();
const LINK_KEY = "race-link-key-".padEnd(40, "k");
const linkConfig = { STAMP_LINK_KEY: LINK_KEY, STAMP_LINK_KEY_PREVIOUS: undefined, STAMP_LINK_TTL_DAYS: 14 };
const RACE_APP = "foreman-stamp-race";
const DECISIONS: StampDecision[] = ["approve", "reject", "request_changes"];
type Json = Record<string, any>;

/** One call's result, whatever the channel: it moved the task, it was refused, or it broke. */
type Outcome =
  | {
      kind: "won";
      channel: string;
      actor: string;
      sourceRef: string;
      decision: StampDecision;
      tokenId?: string;
    }
  | { kind: "lost"; channel: string; message: string; winner?: Winner | null }
  | { kind: "broke"; channel: string; what: string };

/** A task with a stored deliverable, moved to `to` through the transition service as production does. */
async function awaiting(db: AppDb, to: "awaiting_internal_review" | "awaiting_client_review") {
  await db.delete(workerLeases);
  const task = await insertTask(db, { status: "ready", title: "Set up the renewal pipeline" });
  const runId = `run_${task.id.slice(-12)}`;
  await leaseTask(db, { taskId: task.id, workerId: "crm-setup", runId, key: `l:${runId}`, now: new Date() });
  const d = await storeDeliverable(db, {
    taskId: task.id,
    runId,
    markdown: "# Renewal pipeline\nSix stages created.",
    result: { stages: 6 },
    key: `s:${runId}`,
  });
  await releaseRun(db, { runId, status: "succeeded" });
  const moved = await transition(db, { taskId: task.id, to, key: freshKey(), actor: "reviewer:local" });
  return { taskId: task.id, hash: d.hash, startEventId: moved.eventId };
}

/**
 * A pool just for the race, as large as the server can spare (up to one connection per call), with
 * every connection opened before the race so that the calls run side by side on separate backends.
 */
async function racePool(db: AppDb, url: string): Promise<{ handle: DbHandle; size: number }> {
  const [row] = rowsOf<{ free: number }>(
    await db.execute(sql`
      select (current_setting('max_connections')::int
              - current_setting('superuser_reserved_connections')::int
              - (select count(*) from pg_stat_activity))::int as free`),
  );
  // Leave room for other test files sharing the server.
  const size = Math.max(10, Math.min(100, (row?.free ?? 0) - 20));
  const named = new URL(url);
  named.searchParams.set("application_name", RACE_APP);
  const handle = openPostgres(named.toString(), size);
  if (handle.raw.kind !== "postgres") throw new Error("racePool: expected node-postgres");
  const pool = handle.raw.pool;
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  for (const c of clients) c.release();
  expect(pool.totalCount).toBe(size);
  return { handle, size };
}

/**
 * Closes the race pool and waits until its backends are gone: pg's pool.end() resolves before the
 * sockets close, and the database is dropped with (force) right after this file, which would
 * terminate any straggler and make it log an error.
 */
async function closeRacePool(db: AppDb, handle: DbHandle): Promise<void> {
  await handle.close();
  for (let i = 0; i < 100; i++) {
    const [left] = rowsOf<{ n: number }>(
      await db.execute(sql`select count(*)::int as n from pg_stat_activity
                            where datname = current_database() and application_name = ${RACE_APP}`),
    );
    if ((left?.n ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Fisher–Yates, so no channel always goes first. */
function shuffled<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

/** A POST /api/tasks/:id/stamps call; 201 won, 409 refused, anything else broke. */
function apiStamp(
  api: ReturnType<typeof testApp>,
  input: { taskId: string; hash: string; stage: StampStage; decision: StampDecision; key: string },
): () => Promise<Outcome> {
  return async () => {
    const res = await api.request(`/api/tasks/${input.taskId}/stamps`, {
      method: "POST",
      headers: { "idempotency-key": input.key },
      json: {
        stage: input.stage,
        decision: input.decision,
        deliverable_hash: input.hash,
        ...(input.decision === "request_changes" ? { note: "Rename the third stage." } : {}),
      },
    });
    const body = (await res.json()) as Json;
    if (res.status === 201)
      return { kind: "won", channel: "api", actor: "api", sourceRef: input.key, decision: input.decision };
    if (res.status === 409)
      return {
        kind: "lost",
        channel: "api",
        message: body.error?.message,
        winner: body.error?.details?.winner,
      };
    return { kind: "broke", channel: "api", what: `HTTP ${res.status}: ${JSON.stringify(body)}` };
  };
}

/** Asserts everything the race must leave behind, and returns the winner for the caller's own checks. */
async function assertOneDecision(
  db: AppDb,
  setup: { taskId: string; hash: string; startEventId: number; stage: StampStage },
  outcomes: Outcome[],
) {
  const broke = outcomes.filter((o) => o.kind === "broke");
  expect(broke, "no call may fail other than by being refused").toEqual([]);
  const won = outcomes.filter((o) => o.kind === "won");
  const lost = outcomes.filter((o) => o.kind === "lost");
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(outcomes.length - 1);
  const winner = won[0] as Extract<Outcome, { kind: "won" }>;

  // One transition after the start; every loser left one refusal in the log, nothing else.
  const events = await db
    .select()
    .from(taskEvents)
    .where(and(eq(taskEvents.taskId, setup.taskId), gt(taskEvents.id, setup.startEventId)));
  const moves = events.filter((e) => e.kind !== "refusal");
  expect(moves).toHaveLength(1);
  expect(events.filter((e) => e.kind === "refusal")).toHaveLength(outcomes.length - 1);
  const [ev] = moves;
  if (!ev) throw new Error("unreachable");
  expect(ev).toMatchObject({ kind: "state_changed", actor: `${winner.channel}:${winner.actor}` });
  const final = targetOf(setup.stage, winner.decision);
  expect((ev.payload as Json).to).toBe(final);

  // The task is where the winning decision sends it, and the move is the last one it made.
  const [task] = await db.select().from(tasks).where(eq(tasks.id, setup.taskId));
  expect(task).toMatchObject({ status: final, lastEventId: ev.id, deliverableHash: setup.hash });

  // One stamp, the winner's.
  const rows = await db.select().from(stamps).where(eq(stamps.taskId, setup.taskId));
  expect(rows).toHaveLength(1);
  const [stamp] = rows;
  expect(stamp).toMatchObject({
    stage: setup.stage,
    decision: winner.decision,
    channel: winner.channel,
    actor: winner.actor,
    deliverableHash: setup.hash,
    sourceRef: `${setup.taskId}:${winner.sourceRef}`,
  });
  // A Slack stamp names the listed reviewer who clicked; the other channels name none.
  if (winner.channel === "slack") expect(stamp?.reviewerId).toMatch(/^rvw_/);
  else expect(stamp?.reviewerId).toBeNull();

  // The outbox owes exactly one task/stamped for the task, caused by the winning event, and nothing
  // else was owed by the race but the move's own task/state.changed (and task/ready on → ready).
  const owed = await db
    .select()
    .from(outbox)
    .where(sql`${outbox.data}->>'taskId' = ${setup.taskId} and ${outbox.causeEventId} >= ${ev.id}`);
  const stamped = await db
    .select()
    .from(outbox)
    .where(and(eq(outbox.name, "task/stamped"), sql`${outbox.data}->>'taskId' = ${setup.taskId}`));
  expect(stamped).toHaveLength(1);
  expect(stamped[0]).toMatchObject({
    eventId: `stamped:${stamp?.id}`,
    causeEventId: ev.id,
    data: { taskId: setup.taskId, stampId: stamp?.id, stage: setup.stage, decision: winner.decision },
  });
  expect(owed.map((o) => o.name).sort()).toEqual(
    ["task/stamped", "task/state.changed", ...(final === "ready" ? ["task/ready"] : [])].sort(),
  );

  // Every loser is told who decided first, and when: the winning event's actor and time.
  const who: Winner = { eventId: ev.id, actor: ev.actor, at: ev.at.toISOString() };
  const told = `Already decided: ${who.actor} moved this task to '${final}' at ${who.at}.`;
  for (const l of lost as Extract<Outcome, { kind: "lost" }>[]) {
    expect(l.message, `${l.channel} loser`).toBe(told);
    if (l.channel !== "slack") expect(l.winner, `${l.channel} loser's details`).toEqual(who);
  }
  return { winner, final };
}

const timings: string[] = [];

describe.runIf(onPostgres)("100 concurrent conflicting stamps on one task (real Postgres)", () => {
  let race: DbHandle;
  let poolSize = 0;
  beforeAll(async () => {
    const r = await racePool(t.current.db, t.current.url as string);
    race = r.handle;
    poolSize = r.size;
  });
  afterAll(async () => {
    if (race) await closeRacePool(t.current.db, race);
    if (timings.length > 0) console.info(timings.join("\n"));
  });

  it("internal stage: 50 Slack clicks from 5 reviewers + 50 API stamps → one transition, 99 told who won", async () => {
    const db = t.current.db;
    const setup = { ...(await awaiting(db, "awaiting_internal_review")), stage: "internal" as const };
    const users = Array.from({ length: 5 }, (_, i) => `URACE${i}${setup.taskId.slice(-6).toUpperCase()}`);
    await db.insert(reviewers).values(
      users.map((u, i) => ({
        id: newId("rvw"),
        projectId: i % 2 === 0 ? null : "proj_default",
        kind: "human" as const,
        stage: "internal" as const,
        name: `Reviewer ${i}`,
        slackUserId: u,
      })),
    );
    const api = testApp(race.db);
    const calls: (() => Promise<Outcome>)[] = [];
    for (let i = 0; i < 50; i++) {
      const decision = DECISIONS[i % 3] as StampDecision;
      const userId = users[i % 5] as string;
      const action: StampAction = {
        kind: decision,
        taskId: setup.taskId,
        deliverableHash: setup.hash,
        userId,
        teamId: "T0RACE",
        idempotencyKey: `slack:T0RACE:${userId}:race-click-${i}`,
        surface: decision === "request_changes" ? "modal_submission" : "message",
        ...(decision === "request_changes" ? { note: "The third stage needs another name." } : {}),
      };
      calls.push(async () => {
        try {
          const out = await stampFromSlack(race.db, action);
          return out.ok
            ? { kind: "won", channel: "slack", actor: userId, sourceRef: action.idempotencyKey, decision }
            : { kind: "lost", channel: "slack", message: out.text };
        } catch (err) {
          return { kind: "broke", channel: "slack", what: String(err) };
        }
      });
      calls.push(
        apiStamp(api, {
          ...setup,
          decision: DECISIONS[(i + 1) % 3] as StampDecision,
          key: `race-internal-${i}`,
        }),
      );
    }

    const started = performance.now();
    const outcomes = await Promise.all(shuffled(calls).map((call) => call()));
    const ms = performance.now() - started;

    const { winner, final } = await assertOneDecision(db, setup, outcomes);
    timings.push(
      `internal: 100 calls over ${poolSize} connections in ${ms.toFixed(0)} ms; ${winner.channel} ${winner.decision} won → ${final}`,
    );
  });

  it("client stage: 50 single-use links + 50 API stamps → one transition, 99 told who won, one link used", async () => {
    const db = t.current.db;
    const setup = { ...(await awaiting(db, "awaiting_client_review")), stage: "client" as const };
    // Minted one after another: the setup keeps to one connection of the file's own pool.
    const links: Awaited<ReturnType<typeof mintClientLink>>[] = [];
    for (let i = 0; i < 50; i++) {
      links.push(
        await mintClientLink(db, linkConfig, {
          taskId: setup.taskId,
          deliverableHash: setup.hash,
          now: new Date(),
        }),
      );
    }
    const api = testApp(race.db);
    const calls: (() => Promise<Outcome>)[] = [];
    links.forEach((link, i) => {
      const check = verifyStampToken({
        token: link.path.slice("/stamp/".length),
        key: LINK_KEY,
        previousKey: undefined,
        now: Date.now(),
      });
      if (!check.ok) throw new Error(`minted link does not verify: ${check.reason}`);
      // The page offers approve and request changes; decideThroughLink takes reject as well.
      const decision = DECISIONS[i % 3] as StampDecision;
      const actor = `client-${i}@example.com`;
      calls.push(async () => {
        try {
          await decideThroughLink(race.db, check.payload, {
            decision,
            actor,
            ...(decision === "request_changes" ? { note: "Split the last stage in two." } : {}),
          });
          return {
            kind: "won",
            channel: "link",
            actor,
            sourceRef: link.tokenId,
            decision,
            tokenId: link.tokenId,
          };
        } catch (err) {
          if (isDomainError(err) && err.code === "CONFLICT")
            return {
              kind: "lost",
              channel: "link",
              message: err.message,
              winner: (err.details as Json | undefined)?.winner,
            };
          return { kind: "broke", channel: "link", what: String(err) };
        }
      });
      calls.push(
        apiStamp(api, {
          ...setup,
          decision: DECISIONS[(i + 1) % 3] as StampDecision,
          key: `race-client-${i}`,
        }),
      );
    });

    const started = performance.now();
    const outcomes = await Promise.all(shuffled(calls).map((call) => call()));
    const ms = performance.now() - started;

    const { winner, final } = await assertOneDecision(db, setup, outcomes);
    // Only the winning link is spent; if an API stamp won, no link is.
    const used = await db
      .select()
      .from(stampLinks)
      .where(and(eq(stampLinks.taskId, setup.taskId), sql`${stampLinks.usedAt} is not null`));
    expect(used.map((l) => ({ tokenId: l.tokenId, usedBy: l.usedBy }))).toEqual(
      winner.tokenId ? [{ tokenId: winner.tokenId, usedBy: winner.actor }] : [],
    );
    timings.push(
      `client: 100 calls over ${poolSize} connections in ${ms.toFixed(0)} ms; ${winner.channel} ${winner.decision} won → ${final}`,
    );
  });
});
