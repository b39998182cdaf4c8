// A seeded status board: one fresh project with tasks in most states (a dry-run one, a revised one),
// two stamps waiting (an internal one with its Slack card, a client one with its link), triage failures
// of three classes (one from before tasks.failure_class existed), reviewers that count and ones that do
// not, and a day of token usage. Rows are written directly, so the board's reads are tested apart from
// how tasks get there. Used by the lib/board, route and browser tests.
import { eq } from "drizzle-orm";
import {
  projects,
  reviewers,
  slackMessages,
  stampLinks,
  taskEvents,
  tasks,
  tokenUsage,
} from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import { newId } from "../lib/ids.ts";
import type { TaskState } from "../lib/states.ts";
import { insertTask } from "./fixtures.ts";

const HOUR = 3_600_000;

export interface SeededBoard {
  projectId: string;
  projectName: string;
  /** Task ids by the name the seed gave them. */
  ids: Record<
    | "intake"
    | "intakeDry"
    | "ready"
    | "working"
    | "internal"
    | "client"
    | "done"
    | "authA"
    | "authB"
    | "timeout"
    | "legacy",
    string
  >;
  /** When the internal and the client stage began (their state_changed events). */
  internalSince: Date;
  clientSince: Date;
  linkExpires: Date;
}

/** Seeds a project named `name`; `now` anchors the waits, `day` is the day the token usage falls on. */
export async function seedBoard(
  db: AppDb,
  opts: { name: string; now: Date; day?: Date; usage?: boolean },
): Promise<SeededBoard> {
  const projectId = newId("proj");
  await db.insert(projects).values({ id: projectId, name: opts.name });
  const task = async (status: TaskState, title: string, extra: Parameters<typeof insertTask>[1] = {}) =>
    (await insertTask(db, { projectId, status, title, ...extra })).id;
  const ids: SeededBoard["ids"] = {
    intake: await task("intake", `${opts.name}: map the lifecycle stages`),
    intakeDry: await task("intake", `${opts.name}: rehearse the import`, { dryRun: true }),
    ready: await task("ready", `${opts.name}: create the deal pipeline`),
    working: await task("working", `${opts.name}: configure ticket routing`, { revisionCount: 2 }),
    internal: await task("awaiting_internal_review", `${opts.name}: Service Hub setup`, {
      deliverableHash: "hash-internal",
    }),
    client: await task("awaiting_client_review", `${opts.name}: quote template`, {
      deliverableHash: "hash-client",
    }),
    done: await task("done", `${opts.name}: contact properties`),
    authA: await task("failed_needs_triage", `${opts.name}: sync owners`, {
      failureClass: "auth",
      statusReason: "auth: the HubSpot token was revoked",
    }),
    authB: await task("failed_needs_triage", `${opts.name}: sync teams`, {
      failureClass: "auth",
      statusReason: "auth: 401 from HubSpot",
    }),
    timeout: await task("failed_needs_triage", `${opts.name}: bulk import`, {
      failureClass: "timeout",
      statusReason: "timeout: stuck past the watchdog limit",
    }),
    // Failed before the column existed: no class stored, the reason names it.
    legacy: await task("failed_needs_triage", `${opts.name}: old failure`, {
      statusReason: "rate_limit: 429 from Anthropic after retries",
    }),
  };
  const internalSince = new Date(opts.now.getTime() - 3 * HOUR);
  const clientSince = new Date(opts.now.getTime() - 26 * HOUR);
  const linkExpires = new Date(opts.now.getTime() + 13 * 24 * HOUR);
  const moved = (taskId: string, from: TaskState, to: TaskState, at: Date) => ({
    taskId,
    kind: "state_changed",
    actor: "reviewer:local",
    payload: { from, to, reason: null, version: 1 },
    at,
  });
  // The task's time in its state, as the transition sets it: the latest move into it.
  await db.update(tasks).set({ statusSince: internalSince }).where(eq(tasks.id, ids.internal));
  await db.update(tasks).set({ statusSince: clientSince }).where(eq(tasks.id, ids.client));
  await db.insert(taskEvents).values([
    // The log holds an older move into the same state too: the latest one is the "since".
    moved(ids.internal, "working", "awaiting_internal_review", new Date(internalSince.getTime() - 50 * HOUR)),
    moved(ids.internal, "awaiting_internal_review", "ready", new Date(internalSince.getTime() - 40 * HOUR)),
    moved(ids.internal, "working", "awaiting_internal_review", internalSince),
    moved(ids.client, "awaiting_internal_review", "awaiting_client_review", clientSince),
    {
      taskId: ids.working,
      kind: "note",
      actor: "api",
      payload: { text: `${opts.name}: please use the EU portal` },
    },
  ]);
  await db.insert(slackMessages).values([
    {
      key: `card:internal:${ids.internal}:hash-internal`,
      taskId: ids.internal,
      kind: "card",
      channel: "C0REVIEWS",
      ts: "1700000000.000100",
      deliverableHash: "hash-internal",
    },
    // A card for a superseded version of the same task is not the current card.
    {
      key: `card:internal:${ids.internal}:hash-old`,
      taskId: ids.internal,
      kind: "card",
      channel: "C0OLDCHAN",
      ts: "1600000000.000100",
      deliverableHash: "hash-old",
    },
  ]);
  await db.insert(stampLinks).values({
    tokenId: `tok_${ids.client.slice(-16)}`,
    taskId: ids.client,
    stage: "client",
    deliverableHash: "hash-client",
    expiresAt: linkExpires,
  });
  await db.insert(reviewers).values([
    { id: newId("rvw"), projectId, kind: "human", stage: "internal", name: "Ana", slackUserId: "U0ANA" },
    {
      id: newId("rvw"),
      projectId,
      kind: "human",
      stage: "internal",
      name: "Ben",
      slackUserId: "U0BEN",
      escalates: true,
    },
    { id: newId("rvw"), projectId, kind: "human", stage: "client", name: "Cleo", email: "cleo@client.test" },
    // None of these wait on anything: inactive, an AI, another project's.
    { id: newId("rvw"), projectId, kind: "human", stage: "internal", name: "Gone", active: false },
    { id: newId("rvw"), projectId, kind: "ai", stage: "internal", name: "Rubric", model: "local" },
    { id: newId("rvw"), projectId: "proj_default", kind: "human", stage: "internal", name: "Other" },
  ]);
  if (opts.usage !== false && opts.day) {
    await db.insert(tokenUsage).values([
      {
        taskId: ids.working,
        projectId,
        provider: "anthropic",
        model: "board-test",
        tokensIn: 1500,
        tokensOut: 500,
        costUsd: "1.250000",
        at: opts.day,
      },
      // The day before does not count.
      {
        taskId: ids.working,
        projectId,
        provider: "anthropic",
        model: "board-test",
        tokensIn: 9000,
        tokensOut: 0,
        costUsd: "9.000000",
        at: new Date(opts.day.getTime() - 24 * HOUR),
      },
    ]);
  }
  return { projectId, projectName: opts.name, ids, internalSince, clientSince, linkExpires };
}
