// The board's reads on a seeded database: exact counts per state and cards in their columns, stamps
// waiting with whom and since when, the current card and link, failures by class (a classless legacy
// row classed from its reason), recent events newest first, today's spend against the budget, and the
// project filter keeping other projects out.
import { beforeAll, describe, expect, it } from "vitest";
import { projects, reviewers, taskEvents } from "../../db/schema/index.ts";
import { seedBoard } from "../../test/board-seed.ts";
import { useTestDb } from "../../test/db.ts";
import { insertTask } from "../../test/fixtures.ts";
import { loadConfig } from "../config.ts";
import { newId } from "../ids.ts";
import { TASK_STATES } from "../states.ts";
import { readFailures } from "./activity.ts";
import { readColumns } from "./columns.ts";
import { boardQuery, readBoard } from "./read.ts";
import { readWaitingStamps } from "./stamps.ts";

const t = useTestDb();
// A day of its own, so token usage written by other tests in this database never counts.
const day = new Date(Date.UTC(2033, 2, 3, 9));
const now = new Date(Date.UTC(2033, 2, 3, 12));
const config = loadConfig(
  { FOREMAN_DAILY_TOKEN_BUDGET: "10000", FOREMAN_DAILY_COST_BUDGET_USD: "5", FOREMAN_DRY_RUN: "false" },
  "node",
);

beforeAll(async () => {
  // A reviewer for every project: listed wherever the stage matches.
  await t.current.db
    .insert(reviewers)
    .values({ id: newId("rvw"), kind: "human", stage: "internal", name: "Gloria", slackUserId: "U0GLO" });
});

describe("readColumns", () => {
  it("dates a card by the task's time in its state, which a budget bounce keeps, not by its last move", async () => {
    const db = t.current.db;
    const projectId = newId("proj");
    await db.insert(projects).values({ id: projectId, name: "Bounced Co" });
    // Queued three hours ago, leased, and sent back by the day's budget a minute ago (queuedSince).
    const queued = new Date(now.getTime() - 3 * 3_600_000);
    const bounced = new Date(now.getTime() - 60_000);
    const task = await insertTask(db, { projectId, status: "ready", statusSince: queued });
    await db.insert(taskEvents).values({
      taskId: task.id,
      kind: "state_changed",
      actor: "fn:work",
      payload: {
        from: "working",
        to: "ready",
        reason: "daily budget spent",
        version: 3,
        queuedSince: queued,
      },
      at: bounced,
    });
    const columns = await readColumns(db, { projectId, perColumn: 25 });
    const card = columns.find((c) => c.state === "ready")?.cards[0];
    expect(card?.enteredAt.toISOString()).toBe(queued.toISOString());
  });

  it("counts every state exactly and puts each card in its state's column", async () => {
    const seed = await seedBoard(t.current.db, { name: "Columns Co", now });
    const columns = await readColumns(t.current.db, { projectId: seed.projectId, perColumn: 25 });
    expect(columns.map((c) => c.state)).toEqual([...TASK_STATES]);
    const counts = Object.fromEntries(columns.map((c) => [c.state, c.count]));
    expect(counts).toEqual({
      intake: 2,
      ready: 1,
      working: 1,
      awaiting_internal_review: 1,
      awaiting_client_review: 1,
      done: 1,
      blocked_external: 0,
      failed_needs_triage: 4,
      cancelled: 0,
    });
    const column = (s: string) => columns.find((c) => c.state === s);
    expect(
      column("intake")
        ?.cards.map((c) => c.id)
        .sort(),
    ).toEqual([seed.ids.intake, seed.ids.intakeDry].sort());
    expect(column("intake")?.cards.find((c) => c.id === seed.ids.intakeDry)?.dryRun).toBe(true);
    expect(column("working")?.cards[0]).toMatchObject({
      id: seed.ids.working,
      projectName: "Columns Co",
      workerName: "CRM setup",
      revisionCount: 2,
      dryRun: false,
    });
    // Entered its state at the latest state_changed event; a task never moved entered at creation.
    expect(column("awaiting_internal_review")?.cards[0]?.enteredAt.toISOString()).toBe(
      seed.internalSince.toISOString(),
    );
    const ready = column("ready")?.cards[0];
    expect(ready?.enteredAt.getTime()).toBe(ready?.createdAt.getTime());
    // The failure class is shown in triage (a legacy row's read from its reason), never after a retry.
    const triage = column("failed_needs_triage")?.cards ?? [];
    expect(triage.find((c) => c.id === seed.ids.legacy)?.failureClass).toBe("rate_limit");
    expect(triage.find((c) => c.id === seed.ids.authA)?.failureClass).toBe("auth");
    const retried = await insertTask(t.current.db, {
      projectId: seed.projectId,
      status: "ready",
      failureClass: "timeout",
      statusReason: "retry",
    });
    const after = await readColumns(t.current.db, { projectId: seed.projectId, perColumn: 25 });
    const card = after.find((c) => c.state === "ready")?.cards.find((c) => c.id === retried.id);
    expect(card?.failureClass).toBeNull();
  });

  it("shows at most perColumn cards but still counts them all", async () => {
    const seed = await seedBoard(t.current.db, { name: "Many Co", now });
    const columns = await readColumns(t.current.db, { projectId: seed.projectId, perColumn: 1 });
    const triage = columns.find((c) => c.state === "failed_needs_triage");
    expect(triage?.count).toBe(4);
    expect(triage?.cards).toHaveLength(1);
    expect(columns.find((c) => c.state === "intake")?.cards).toHaveLength(1);
  });
});

describe("readWaitingStamps", () => {
  it("lists the human stages with whom they wait on, since when, the current card and the link", async () => {
    const seed = await seedBoard(t.current.db, { name: "Stamps Co", now });
    const waiting = await readWaitingStamps(t.current.db, { projectId: seed.projectId, limit: 10 });
    // Oldest wait first: the client stage began 26 h ago, the internal one 3 h ago.
    expect(waiting.map((w) => [w.taskId, w.stage])).toEqual([
      [seed.ids.client, "client"],
      [seed.ids.internal, "internal"],
    ]);
    const [client, internal] = waiting;
    expect(internal?.since.toISOString()).toBe(seed.internalSince.toISOString());
    expect(internal?.reviewers).toEqual([
      { name: "Ana", slackUserId: "U0ANA", email: null, escalates: false },
      { name: "Gloria", slackUserId: "U0GLO", email: null, escalates: false },
      { name: "Ben", slackUserId: "U0BEN", email: null, escalates: true },
    ]);
    expect(internal?.card).toEqual({ channel: "C0REVIEWS", recorded: "sent" });
    expect(internal?.link).toBeNull();
    expect(client?.since.toISOString()).toBe(seed.clientSince.toISOString());
    expect(client?.reviewers).toEqual([
      { name: "Cleo", slackUserId: null, email: "cleo@client.test", escalates: false },
    ]);
    expect(client?.card).toBeNull();
    expect(client?.link).toEqual({ expiresAt: seed.linkExpires, usedAt: null });
  });
});

describe("readFailures", () => {
  it("groups triage by class in taxonomy order, classing a legacy row from its reason", async () => {
    const seed = await seedBoard(t.current.db, { name: "Failures Co", now });
    const groups = await readFailures(t.current.db, { projectId: seed.projectId, examples: 5 });
    expect(groups.map((g) => [g.failureClass, g.count])).toEqual([
      ["rate_limit", 1],
      ["auth", 2],
      ["timeout", 1],
    ]);
    expect(groups[1]?.tasks.map((x) => x.id).sort()).toEqual([seed.ids.authA, seed.ids.authB].sort());
    expect(groups[0]?.tasks).toEqual([{ id: seed.ids.legacy, title: "Failures Co: old failure" }]);
    const one = await readFailures(t.current.db, { projectId: seed.projectId, examples: 1 });
    expect(one.find((g) => g.failureClass === "auth")).toMatchObject({ count: 2 });
    expect(one.find((g) => g.failureClass === "auth")?.tasks).toHaveLength(1);
  });
});

describe("readFailures: legacy rows of one class", () => {
  it("lists the latest examples of the class, however many legacy reasons it was grouped from", async () => {
    const projectId = newId("proj");
    await t.current.db.insert(projects).values({ id: projectId, name: "Legacy Co" });
    // Failed before tasks.failure_class existed: six reasons, all classed `other`, an hour apart.
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      const task = await insertTask(t.current.db, {
        projectId,
        status: "failed_needs_triage",
        statusReason: `something odd happened (${i})`,
        statusSince: new Date(now.getTime() - (6 - i) * 3_600_000),
        // A note on the oldest since does not make it one of the latest failures.
        updatedAt: i === 0 ? now : new Date(now.getTime() - (6 - i) * 3_600_000),
      });
      made.push(task.id);
    }
    const [group] = await readFailures(t.current.db, { projectId, examples: 5 });
    expect(group).toMatchObject({ failureClass: "other", count: 6 });
    expect(group?.tasks.map((x) => x.id)).toEqual(made.slice(1).reverse());
  });
});

describe("readBoard", () => {
  it("reads every part for one project, with today's spend against both caps", async () => {
    const seed = await seedBoard(t.current.db, { name: "Board Co", now, day });
    const other = await seedBoard(t.current.db, { name: "Elsewhere Ltd", now });
    const board = await readBoard({ db: t.current.db, config }, { project: seed.projectId }, now);
    expect(board.project).toEqual({ id: seed.projectId, name: "Board Co" });
    expect(board.unknownProject).toBeUndefined();
    expect(board.projects.map((p) => p.name)).toEqual(expect.arrayContaining(["Board Co", "Elsewhere Ltd"]));
    const allIds = board.columns.flatMap((c) => c.cards.map((x) => x.id));
    expect(allIds).toHaveLength(11);
    expect(allIds).not.toContain(other.ids.intake);
    expect(board.waiting.map((w) => w.taskId).sort()).toEqual([seed.ids.client, seed.ids.internal].sort());
    // Newest first: the seed wrote the internal task's moves, then the client's, then the note.
    expect(board.events.map((e) => e.kind).slice(0, 2)).toEqual(["note", "state_changed"]);
    expect(board.events[0]).toMatchObject({ taskId: seed.ids.working, actor: "api" });
    expect(board.events.every((e) => Object.values(seed.ids).includes(e.taskId))).toBe(true);
    expect(board.budget).toMatchObject({
      day: "2033-03-03",
      tokensToday: 2000,
      costToday: 1.25,
      dailyTokens: 10000,
      dailyCostUsd: 5,
      dailySpent: false,
      warnings: [],
    });
    expect(board.dryRun).toBe(false);
  });

  it("says when the filter names no project, and shows nothing under it", async () => {
    const board = await readBoard({ db: t.current.db, config }, { project: "proj_nope" }, now);
    expect(board.unknownProject).toBe("proj_nope");
    expect(board.columns.every((c) => c.count === 0)).toBe(true);
    expect(board.events).toEqual([]);
  });

  it("without a filter counts every project", async () => {
    const before = await readBoard({ db: t.current.db, config }, {}, now);
    await seedBoard(t.current.db, { name: "Added Later", now });
    const after = await readBoard({ db: t.current.db, config }, {}, now);
    const total = (b: typeof before) => b.columns.reduce((n, c) => n + c.count, 0);
    expect(total(after) - total(before)).toBe(11);
  });
});

describe("boardQuery", () => {
  it("takes a blank project as no filter, refuses a bad refresh, defaults to 15 s", () => {
    expect(boardQuery.parse({ project: "" })).toEqual({ project: undefined, refresh: 15 });
    expect(boardQuery.parse({ project: "proj_x", refresh: "5" })).toEqual({ project: "proj_x", refresh: 5 });
    expect(boardQuery.safeParse({ refresh: "1" }).success).toBe(false);
    expect(boardQuery.safeParse({ project: "x".repeat(65) }).success).toBe(false);
  });
});
