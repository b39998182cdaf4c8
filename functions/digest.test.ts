// digest over a real database, the Slack fake and the local model's fake: a seeded Monday in Paris
// gives exact numbers in the gathered digest and in the posted blocks; a quiet day is skipped and
// nothing is posted; a local model that is down or answers badly gives the template with the same
// numbers; dry-run posts nothing and keeps the exact request; a second run for the period does not
// post again; unconfigured Slack says so without failing; the weekly digest covers the week.
import { eq } from "drizzle-orm";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  projects,
  reviewers,
  settings,
  taskDependencies,
  taskEvents,
  tasks,
  tokenUsage,
  workers,
} from "../db/schema/index.ts";
import type { AppDb } from "../db/types.ts";
import type { Deps, Logger } from "../lib/deps.ts";
import { table } from "../lib/digest/format.ts";
import type { Digest } from "../lib/digest/shape.ts";
import type { TaskState } from "../lib/states.ts";
import { createTestDb, type TestDb } from "../test/db.ts";
import { testDeps } from "../test/deps.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../test/fakes/openai-upstream.ts";
import {
  FAKE_REVIEW_CHANNEL,
  FAKE_SLACK_TOKEN,
  type FakeSlack,
  startSlackFake,
} from "../test/fakes/slack.ts";
import { insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { digest } from "./digest.ts";
import { digestWeekly } from "./digest-weekly.ts";

// Tuesday 10 March 2026, 08:00 in Paris (UTC+1): the daily digest covers Monday 9 March, Paris time,
// which is 2026-03-08T23:00Z to 2026-03-09T23:00Z.
const NOW = new Date("2026-03-10T07:00:00Z");
const SCHEDULED = { name: "inngest/scheduled.timer", data: { cron: "TZ=Europe/Paris 0 8 * * 1-5" } };

let model: OpenAIUpstream;
let slack: FakeSlack;
let t: TestDb;
beforeAll(async () => {
  [model, slack] = await Promise.all([startOpenAIUpstream(), startSlackFake()]);
});
afterAll(async () => {
  await Promise.all([model?.close(), slack?.close()]);
});
// The digest counts every task in the database, so each test gets a database of its own.
beforeEach(async () => {
  t = await createTestDb();
  model.clearFaults();
  model.reset();
  slack.calls.length = 0;
  slack.messages.clear();
  answer({
    summary:
      "3 failures need triage and 3 tasks are stuck; 2 stamps are waiting, the oldest for 48 hours. 3 tasks were done on 24.0 percent of the token budget.",
  });
});
afterEach(async () => {
  await t?.close();
});

function answer(json: unknown) {
  Object.defineProperty(model.behaviour, "json", { configurable: true, get: () => json });
}

const env = (extra: Record<string, string> = {}) => ({
  BRIDGE_URL: model.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: model.behaviour.model,
  SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
  SLACK_API_URL: slack.url,
  SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
  FOREMAN_DRY_RUN: "false",
  FOREMAN_DIGEST_TZ: "Europe/Paris",
  FOREMAN_DAILY_TOKEN_BUDGET: "100000",
  FOREMAN_DAILY_COST_BUDGET_USD: "1",
  ...extra,
});

function recordingLogger() {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log =
    (level: string) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, msg, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
  return { logger, lines };
}

function depsFor(extra: Record<string, string> = {}, logger?: Logger): Deps {
  const { deps } = testDeps(t.db, env(extra));
  return { ...deps, now: () => NOW, ...(logger ? { logger } : {}) };
}

const run = (deps: Deps, fn = digest, runId = "run_digest_1") =>
  runFunction(fn, { deps, event: SCHEDULED, runId });

type Run = {
  state: string;
  reason?: string;
  digest: Digest;
  summary?: { source: string; text: string; why?: string };
  post?: Record<string, unknown>;
};

// ---------------------------------------------------------------------------------------------------
// The seeded day. Times are UTC; "in" = inside Monday 9 March in Paris.

const ids: Record<string, string> = {};

async function event(
  db: AppDb,
  taskId: string,
  at: string,
  kind = "worker_turn",
  payload: object = { turn: 1 },
) {
  await db.insert(taskEvents).values({
    taskId,
    kind,
    payload: payload as Record<string, unknown>,
    actor: "test",
    at: new Date(at),
  });
}
/** A move, as the transition records it: its log entry, and the task's time in its new state. */
async function moved(
  db: AppDb,
  taskId: string,
  at: string,
  from: TaskState,
  to: TaskState,
  reason: string | null = null,
) {
  await event(db, taskId, at, "state_changed", { from, to, reason, version: 1 });
  await db
    .update(tasks)
    .set({ statusSince: new Date(at) })
    .where(eq(tasks.id, taskId));
}

async function task(
  db: AppDb,
  name: string,
  o: { project: "acme" | "beta"; worker: string | null; status: TaskState; createdAt?: string },
) {
  const row = await insertTask(db, {
    title: name,
    projectId: `proj_${o.project}`,
    workerId: o.worker,
    status: o.status,
    createdAt: new Date(o.createdAt ?? "2026-03-01T09:00:00Z"),
    // Never moved yet: in its state since it was created.
    statusSince: new Date(o.createdAt ?? "2026-03-01T09:00:00Z"),
  });
  ids[name] = row.id;
  return row.id;
}

async function seedDay(db: AppDb) {
  await db.insert(projects).values([
    { id: "proj_acme", name: "Acme & Sons" },
    { id: "proj_beta", name: "Beta" },
  ]);
  await db.insert(workers).values({ id: "writer", name: "Writer", agentType: "writer" });
  await db.insert(reviewers).values([
    { name: "Ana", kind: "human", stage: "internal", projectId: "proj_acme", id: "rev_ana" },
    { name: "Bo", kind: "human", stage: "internal", projectId: null, escalates: true, id: "rev_bo" },
    { name: "Cy", kind: "human", stage: "client", projectId: "proj_acme", id: "rev_cy" },
    { name: "Dee", kind: "human", stage: "internal", projectId: "proj_beta", id: "rev_dee" },
    { name: "Eve", kind: "human", stage: "internal", projectId: "proj_acme", active: false, id: "rev_eve" },
    { name: "Fay", kind: "human", stage: "client", projectId: "proj_beta", id: "rev_fay" },
    { name: "Local reviewer", kind: "ai", stage: "internal", projectId: null, id: "rev_ai" },
  ]);

  // Done: three in the period (Acme ×2 by CRM setup, Beta ×1 by Writer), one the evening before.
  const t1 = await task(db, "Renewal property", { project: "acme", worker: "crm-setup", status: "done" });
  await event(db, t1, "2026-03-08T10:00:00Z", "submitted", { source: "api", sourceRef: null, dependsOn: [] });
  await moved(db, t1, "2026-03-09T10:00:00Z", "awaiting_client_review", "done");
  const t2 = await task(db, "Lifecycle stages", { project: "acme", worker: "crm-setup", status: "done" });
  await moved(db, t2, "2026-03-08T23:30:00Z", "awaiting_client_review", "done"); // 00:30 Monday in Paris
  const t3 = await task(db, "Welcome email", { project: "beta", worker: "writer", status: "done" });
  await moved(db, t3, "2026-03-09T22:59:00Z", "awaiting_client_review", "done"); // 23:59 Monday in Paris
  const t4 = await task(db, "Old thing", { project: "beta", worker: "writer", status: "done" });
  await moved(db, t4, "2026-03-08T22:30:00Z", "awaiting_client_review", "done"); // 23:30 Sunday in Paris

  // Working: one silent for 3 h (stuck), one busy half an hour ago.
  const t5 = await task(db, "Dedupe contacts", { project: "acme", worker: "crm-setup", status: "working" });
  await moved(db, t5, "2026-03-09T20:00:00Z", "ready", "working");
  await event(db, t5, "2026-03-09T21:00:00Z");
  await event(db, t5, "2026-03-09T21:05:00Z", "tool_call", { tool: "hubspot.search" });
  await event(db, t5, "2026-03-10T03:59:00Z");
  const t6 = await task(db, "Import deals", { project: "acme", worker: "crm-setup", status: "working" });
  await moved(db, t6, "2026-03-10T05:00:00Z", "ready", "working");
  await event(db, t6, "2026-03-10T06:30:00Z");

  // Queued: ready for two days and intake for 30 h (both stuck); ready again for 16 h after a retry.
  const t7 = await task(db, "Tag companies", { project: "beta", worker: "writer", status: "ready" });
  await moved(db, t7, "2026-03-08T07:00:00Z", "intake", "ready");
  await task(db, "Fresh intake", {
    project: "beta",
    worker: null,
    status: "intake",
    createdAt: "2026-03-09T01:00:00Z",
  });
  const t13 = await task(db, "Merge duplicates", { project: "acme", worker: "crm-setup", status: "ready" });
  await moved(
    db,
    t13,
    "2026-03-09T14:00:00Z",
    "working",
    "failed_needs_triage",
    "timeout: stuck past the limit",
  );
  await moved(db, t13, "2026-03-09T15:00:00Z", "failed_needs_triage", "ready", "retry");

  // Stamps waiting: internal at Acme for 22 h, client at Beta for 48 h.
  const t9 = await task(db, "Quarterly report", {
    project: "acme",
    worker: "crm-setup",
    status: "awaiting_internal_review",
  });
  await moved(db, t9, "2026-03-09T09:00:00Z", "working", "awaiting_internal_review");
  const t10 = await task(db, "Client portal", {
    project: "beta",
    worker: "writer",
    status: "awaiting_client_review",
  });
  await moved(db, t10, "2026-03-08T07:00:00Z", "working", "awaiting_client_review");

  // Failures in the period: timeout (t13 above, and t11), auth (t12); a rate limit the day before.
  const t11 = await task(db, "Sync owners", {
    project: "acme",
    worker: "crm-setup",
    status: "failed_needs_triage",
  });
  await moved(
    db,
    t11,
    "2026-03-09T12:00:00Z",
    "working",
    "failed_needs_triage",
    "timeout: no progress for 40 min",
  );
  const t12 = await task(db, "Fix pipeline", {
    project: "beta",
    worker: "writer",
    status: "failed_needs_triage",
  });
  await moved(
    db,
    t12,
    "2026-03-09T13:00:00Z",
    "working",
    "failed_needs_triage",
    "auth: the HubSpot token was revoked",
  );
  const t14 = await task(db, "Wait for docs", {
    project: "beta",
    worker: "writer",
    status: "blocked_external",
  });
  await moved(db, t14, "2026-03-09T16:00:00Z", "working", "blocked_external", "needs the client's export");
  const t15 = await task(db, "Dropped", { project: "acme", worker: "crm-setup", status: "cancelled" });
  await moved(
    db,
    t15,
    "2026-03-08T20:00:00Z",
    "working",
    "failed_needs_triage",
    "rate_limit: 429 from Anthropic",
  );
  await moved(db, t15, "2026-03-09T17:00:00Z", "failed_needs_triage", "cancelled");

  // Spend in the period: 24,000 tokens, $0.0646, 8,000 of them local; 100,000 the evening before.
  const use = (
    o: Omit<Partial<typeof tokenUsage.$inferInsert>, "at"> & {
      at: string;
      tokensIn: number;
      tokensOut: number;
    },
  ) => ({
    provider: "anthropic",
    model: "claude-sonnet-5-5",
    tier: "primary" as const,
    purpose: "work",
    ...o,
    at: new Date(o.at),
  });
  await db.insert(tokenUsage).values([
    use({
      taskId: t1,
      projectId: "proj_acme",
      tokensIn: 10_000,
      tokensOut: 2_000,
      costUsd: "0.05",
      at: "2026-03-09T09:00:00Z",
    }),
    use({
      taskId: t5,
      projectId: "proj_acme",
      provider: "overflow",
      model: "gpt-4.1",
      tier: "overflow",
      tokensIn: 3_000,
      tokensOut: 1_000,
      costUsd: "0.014",
      at: "2026-03-09T20:30:00Z",
    }),
    use({
      taskId: t3,
      projectId: "proj_beta",
      provider: "bridge",
      model: "local",
      tier: "local",
      purpose: "review",
      tokensIn: 5_000,
      tokensOut: 1_000,
      costUsd: "0.0005",
      at: "2026-03-09T22:00:00Z",
    }),
    use({
      projectId: "proj_beta",
      provider: "bridge",
      model: "local",
      tier: "local",
      purpose: "triage",
      tokensIn: 1_500,
      tokensOut: 500,
      costUsd: "0.0001",
      at: "2026-03-09T11:00:00Z",
    }),
    use({
      taskId: t1,
      projectId: "proj_acme",
      tokensIn: 90_000,
      tokensOut: 10_000,
      costUsd: "0.5",
      at: "2026-03-08T22:00:00Z",
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// What the seeded day must give, number by number.

const expectedDigest = (): Digest => ({
  period: {
    kind: "daily",
    timeZone: "Europe/Paris",
    from: "2026-03-09",
    to: "2026-03-09",
    days: 1,
    start: "2026-03-08T23:00:00.000Z",
    end: "2026-03-09T23:00:00.000Z",
    at: "2026-03-10T07:00:00.000Z",
  },
  // t1 1, t2 1, t3 1, t5 3, t13 2, t9 1, t11 1, t12 1, t14 1, t15 1.
  events: 13,
  done: {
    total: 3,
    skipped: 0,
    byProject: [
      { key: "proj_acme", label: "Acme & Sons", n: 2 },
      { key: "proj_beta", label: "Beta", n: 1 },
    ],
    byWorker: [
      { key: "crm-setup", label: "CRM setup", n: 2 },
      { key: "writer", label: "Writer", n: 1 },
    ],
  },
  states: {
    intake: 1,
    ready: 2,
    working: 2,
    awaiting_internal_review: 1,
    awaiting_client_review: 1,
    done: 4,
    blocked_external: 1,
    failed_needs_triage: 2,
    cancelled: 1,
  },
  stuck: {
    total: 3,
    silent: 1,
    queued: 2,
    items: [
      {
        taskId: ids["Tag companies"] as string,
        title: "Tag companies",
        project: "Beta",
        state: "ready",
        why: "queued",
        since: "2026-03-08T07:00:00.000Z",
        hours: 48,
      },
      {
        taskId: ids["Fresh intake"] as string,
        title: "Fresh intake",
        project: "Beta",
        state: "intake",
        why: "queued",
        since: "2026-03-09T01:00:00.000Z",
        hours: 30,
      },
      {
        taskId: ids["Dedupe contacts"] as string,
        title: "Dedupe contacts",
        project: "Acme & Sons",
        state: "working",
        why: "silent",
        since: "2026-03-10T03:59:00.000Z",
        hours: 3,
      },
    ],
  },
  stamps: {
    total: 2,
    internal: 1,
    client: 1,
    oldestHours: 48,
    items: [
      {
        taskId: ids["Client portal"] as string,
        title: "Client portal",
        project: "Beta",
        stage: "client",
        since: "2026-03-08T07:00:00.000Z",
        hours: 48,
        waitingOn: [{ name: "Fay", escalates: false }],
      },
      {
        taskId: ids["Quarterly report"] as string,
        title: "Quarterly report",
        project: "Acme & Sons",
        stage: "internal",
        since: "2026-03-09T09:00:00.000Z",
        hours: 22,
        waitingOn: [
          { name: "Ana", escalates: false },
          { name: "Bo", escalates: true },
        ],
      },
    ],
  },
  failures: {
    total: 3,
    byClass: {
      rate_limit: 0,
      auth: 1,
      timeout: 2,
      malformed_output: 0,
      budget: 0,
      dependency: 0,
      external_api: 0,
      other: 0,
    },
  },
  spend: {
    tokens: 24_000,
    costUsd: 0.0646,
    budget: { tokens: 100_000, costUsd: 1 },
    tokenShare: 0.24,
    costShare: 0.0646,
    byProject: [
      { key: "proj_acme", label: "Acme & Sons", tokens: 16_000, costUsd: 0.064 },
      { key: "proj_beta", label: "Beta", tokens: 8_000, costUsd: 0.0006 },
    ],
    byWorker: [
      { key: "crm-setup", label: "CRM setup", tokens: 16_000, costUsd: 0.064 },
      { key: "writer", label: "Writer", tokens: 6_000, costUsd: 0.0005 },
      { key: null, label: "(no task)", tokens: 2_000, costUsd: 0.0001 },
    ],
    byProvider: [
      { key: "anthropic", label: "anthropic", tokens: 12_000, costUsd: 0.05 },
      { key: "bridge", label: "bridge", tokens: 8_000, costUsd: 0.0006 },
      { key: "overflow", label: "overflow", tokens: 4_000, costUsd: 0.014 },
    ],
    localTokens: 8_000,
    localShare: 8_000 / 24_000,
  },
});

const code = (rows: string[][]) => `\`\`\`\n${table(rows).replaceAll("&", "&amp;")}\n\`\`\``;
const FIELDS = [
  "*Done*\n3",
  "*Events logged*\n13",
  "*Stamps waiting*\n2 (oldest 48 h)",
  "*Stuck*\n3",
  "*Failures*\n3",
  "*Tokens*\n24,000 of 100,000 (24.0 %)",
  "*Cost*\n$0.0646 of $1.00 (6.5 %)",
  "*Local tier*\n33.3 % of tokens (8,000)",
];
/** Every block after the summary: the numbers, which are the same whoever wrote the summary. */
const numberBlocks = () => [
  { type: "section", fields: FIELDS.map((text) => ({ type: "mrkdwn", text })) },
  section(
    `*Tasks now*\n${code([
      ["intake", "1"],
      ["ready", "2"],
      ["working", "2"],
      ["awaiting_internal_review", "1"],
      ["awaiting_client_review", "1"],
      ["done", "4"],
      ["blocked_external", "1"],
      ["failed_needs_triage", "2"],
      ["cancelled", "1"],
    ])}`,
  ),
  section(
    `*Done*\n${code([
      ["by project", "done"],
      ["Acme & Sons", "2"],
      ["Beta", "1"],
    ])}\n${code([
      ["by worker", "done"],
      ["CRM setup", "2"],
      ["Writer", "1"],
    ])}`,
  ),
  section(
    [
      "*Stamps waiting*",
      `• \`${ids["Client portal"]}\` Client portal (Beta): client, 48 h, waiting on Fay`,
      `• \`${ids["Quarterly report"]}\` Quarterly report (Acme &amp; Sons): internal, 22 h, waiting on Ana, Bo (escalation)`,
    ].join("\n"),
  ),
  section(
    [
      "*Stuck*",
      `• \`${ids["Tag companies"]}\` Tag companies (Beta): ready, 48 h in ready`,
      `• \`${ids["Fresh intake"]}\` Fresh intake (Beta): intake, 30 h in intake`,
      `• \`${ids["Dedupe contacts"]}\` Dedupe contacts (Acme &amp; Sons): working, no event for 3 h`,
    ].join("\n"),
  ),
  section(
    `*Failures by class*\n${code([
      ["class", "moves"],
      ["timeout", "2"],
      ["auth", "1"],
    ])}`,
  ),
  section(
    `*Spend*\n${code([
      ["by project", "tokens", "cost"],
      ["Acme & Sons", "16,000", "$0.0640"],
      ["Beta", "8,000", "$0.0006"],
    ])}\n${code([
      ["by worker", "tokens", "cost"],
      ["CRM setup", "16,000", "$0.0640"],
      ["Writer", "6,000", "$0.0005"],
      ["(no task)", "2,000", "$0.0001"],
    ])}\n${code([
      ["by provider", "tokens", "cost"],
      ["anthropic", "12,000", "$0.0500"],
      ["bridge", "8,000", "$0.0006"],
      ["overflow", "4,000", "$0.0140"],
    ])}`,
  ),
];
function section(text: string) {
  return { type: "section", text: { type: "mrkdwn", text } };
}
const HEADER = {
  type: "header",
  text: { type: "plain_text", text: "foreman daily digest · Mon 9 Mar 2026" },
};
const CONTEXT_START = "Mon 9 Mar 2026, Europe/Paris. States, stuck and waiting as of 2026-03-10 07:00 UTC.";
const TEMPLATE =
  "Mon 9 Mar 2026: 3 tasks done, 13 events logged. 3 failures (timeout 2, auth 1); 3 tasks stuck; 2 stamps waiting, the oldest for 48 h. Spent 24,000 tokens (24.0 % of the token budget) and $0.0646; local tier 33.3 % of tokens.";

const posted = () => slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
const contextText = (blocks: unknown[]) =>
  (blocks[1] as { elements: { text: string }[] }).elements[0]?.text ?? "";

describe("digest", () => {
  it("registers the daily and weekly crons in the configured zone (defaults: 08:00 weekdays, Mondays, UTC)", () => {
    const opts = (f: unknown) => (f as { opts: { id: string; triggers: unknown; singleton: unknown } }).opts;
    expect(opts(digest)).toMatchObject({
      id: "digest",
      triggers: [{ cron: "TZ=UTC 0 8 * * 1-5" }],
      singleton: { mode: "skip" },
    });
    expect(opts(digestWeekly)).toMatchObject({
      id: "digest-weekly",
      triggers: [{ cron: "TZ=UTC 0 8 * * 1" }],
    });
  });

  it("on a seeded day: every number exact, in the digest and in the posted blocks; the model call metered", async () => {
    await seedDay(t.db);
    const res = await run(depsFor());
    expect(res.error).toBeUndefined();
    const out = res.result as Run;
    expect(out.digest).toEqual(expectedDigest());
    expect(out).toMatchObject({
      state: "sent",
      because: ["13 events in the period", "2 stamps waiting", "3 tasks stuck", "3 failures"],
      summary: { source: "model", model: model.behaviour.model },
      post: { posted: "sent", channel: FAKE_REVIEW_CHANNEL },
    });

    const [message, ...more] = posted();
    expect(more).toHaveLength(0);
    expect(message?.text).toBe(
      "foreman daily digest · Mon 9 Mar 2026: 3 done, 3 failures, 3 stuck, 2 stamps waiting",
    );
    const blocks = message?.blocks ?? [];
    expect(blocks[0]).toEqual(HEADER);
    expect(contextText(blocks)).toBe(
      `${CONTEXT_START} Summary by the local model (${model.behaviour.model}).`,
    );
    expect(blocks[2]).toEqual(
      section(
        "3 failures need triage and 3 tasks are stuck; 2 stamps are waiting, the oldest for 48 hours. 3 tasks were done on 24.0 percent of the token budget.",
      ),
    );
    expect(blocks.slice(3)).toEqual(numberBlocks());

    // The model saw the numbers fenced as data, and no title, name or reason.
    const prompt = JSON.stringify((model.requests.at(-1) as { messages: unknown }).messages);
    expect(prompt).toMatch(/<<<DATA \S+ digest numbers>>>/);
    expect(prompt).toContain('\\"tokens\\": 24000');
    for (const word of ["Acme", "Beta", "Dedupe", "Ana", "Fay", "revoked", "CRM setup"])
      expect(prompt).not.toContain(word);
    // Metered once, as the digest's own call.
    const usage = await t.db.select().from(tokenUsage).where(eq(tokenUsage.purpose, "digest"));
    expect(usage).toMatchObject([
      { tier: "local", provider: "bridge", idempotencyKey: "run_digest_1:digest" },
    ]);
    expect(usage[0]?.taskId).toBeNull();
  });

  it("is skipped on an empty day: the skip is the run's result, nothing is posted, the model is not asked", async () => {
    // Activity on the days around it only: Sunday evening and Tuesday morning, Paris time.
    await t.db.insert(projects).values({ id: "proj_acme", name: "Acme" });
    const { id: done } = await insertTask(t.db, { projectId: "proj_acme", status: "done" });
    await event(t.db, done, "2026-03-08T22:59:59Z", "state_changed", {
      from: "awaiting_client_review",
      to: "done",
      reason: null,
      version: 1,
    });
    await event(t.db, done, "2026-03-09T23:00:00Z", "note", { text: "after the fact" });
    const res = await run(depsFor());
    expect(res.error).toBeUndefined();
    const out = res.result as Run;
    expect(out).toMatchObject({
      state: "skipped",
      reason:
        "nothing happened from 2026-03-09 to 2026-03-09 (Europe/Paris): no events, no stamps waiting, nothing stuck, no failures",
    });
    expect(out.digest).toMatchObject({
      events: 0,
      done: { total: 0 },
      stuck: { total: 0 },
      stamps: { total: 0 },
    });
    expect(out.digest.states.done).toBe(1);
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
    expect(model.requests).toHaveLength(0);
  });

  it("does not count a triaged task waiting on an open dependency as stuck in intake; an untriaged one it does", async () => {
    await t.db.insert(projects).values({ id: "proj_acme", name: "Acme" });
    const created = new Date("2026-03-09T00:00:00Z"); // 31 h before the digest
    // A waits on the client's API key (blocked: a person's business, not stuck); B is triaged and
    // waits for A, as a plan's second step does; C was never triaged.
    const a = await insertTask(t.db, {
      projectId: "proj_acme",
      status: "blocked_external",
      createdAt: created,
      statusSince: created,
    });
    const b = await insertTask(t.db, {
      projectId: "proj_acme",
      status: "intake",
      title: "Second step",
      triagedAt: created,
      createdAt: created,
      statusSince: created,
    });
    await t.db.insert(taskDependencies).values({ taskId: b.id, dependsOnId: a.id });
    const c = await insertTask(t.db, {
      projectId: "proj_acme",
      status: "intake",
      title: "Untriaged",
      createdAt: created,
      statusSince: created,
    });
    const out = (await run(depsFor())).result as Run;
    expect(out.digest.stuck).toMatchObject({ total: 1, queued: 1 });
    expect(out.digest.stuck.items.map((i) => i.taskId)).toEqual([c.id]);

    // Once A is done, B waiting in intake is stuck (promote should have moved it on).
    await t.db.update(tasks).set({ status: "done" }).where(eq(tasks.id, a.id));
    const later = (await run(depsFor(), digest, "run_digest_2")).result as Run;
    expect(later.digest.stuck.items.map((i) => i.taskId).sort()).toEqual([b.id, c.id].sort());
  });

  it("counts a ready task the budget sent back as queued since it first queued, not since the bounce", async () => {
    await t.db.insert(projects).values({ id: "proj_acme", name: "Acme" });
    const queued = "2026-03-09T00:00:00Z"; // 31 h before the digest
    const task = await insertTask(t.db, {
      projectId: "proj_acme",
      status: "ready",
      createdAt: new Date(queued),
      statusSince: new Date(queued),
    });
    // Leased and sent back by the day's budget an hour before the digest: the move keeps its place.
    await event(t.db, task.id, "2026-03-10T06:00:00Z", "state_changed", {
      from: "working",
      to: "ready",
      reason: "daily budget spent",
      version: 3,
      queuedSince: queued,
    });
    const out = (await run(depsFor())).result as Run;
    expect(out.digest.stuck.items.map((i) => i.taskId)).toEqual([task.id]);
  });

  it("keeps skips apart from work done: counted as skipped, not in Done or its tables", async () => {
    await t.db.insert(projects).values({ id: "proj_acme", name: "Acme" });
    const { id: approved } = await insertTask(t.db, { projectId: "proj_acme", status: "done" });
    await moved(t.db, approved, "2026-03-09T10:00:00Z", "awaiting_client_review", "done");
    const { id: skipped } = await insertTask(t.db, { projectId: "proj_acme", status: "done" });
    await moved(
      t.db,
      skipped,
      "2026-03-09T11:00:00Z",
      "failed_needs_triage",
      "done",
      "skipped by api:dana: not needed any more",
    );
    const res = await run(depsFor());
    const out = res.result as Run;
    expect(out.digest.done).toEqual({
      total: 1,
      skipped: 1,
      byProject: [{ key: "proj_acme", label: "Acme", n: 1 }],
      byWorker: [expect.objectContaining({ n: 1 })],
    });
    const [message] = posted();
    expect(JSON.stringify(message?.blocks)).toContain("1 (+1 skipped)");
  });

  it("falls back to the template with the same numbers when the local model is down, and says so", async () => {
    await seedDay(t.db);
    model.fail({ status: 503, body: { error: { message: "busy" } }, headers: { "retry-after": "1" } });
    const res = await run(depsFor());
    expect(res.error).toBeUndefined();
    const out = res.result as Run;
    expect(out.digest).toEqual(expectedDigest());
    expect(out.summary).toMatchObject({ source: "template", text: TEMPLATE });
    expect(out.post).toMatchObject({ posted: "sent" });
    const blocks = posted()[0]?.blocks ?? [];
    expect(blocks[0]).toEqual(HEADER);
    expect(contextText(blocks)).toMatch(
      new RegExp(
        `^${CONTEXT_START.replace(/[.()]/g, "\\$&")} Summary: the template, not the local model \\(the local model is unavailable: .+\\)\\.$`,
      ),
    );
    expect(blocks[2]).toEqual(section(TEMPLATE));
    expect(blocks.slice(3)).toEqual(numberBlocks());
    expect(await t.db.select().from(tokenUsage).where(eq(tokenUsage.purpose, "digest"))).toHaveLength(0);
  });

  it("falls back to the template when the model twice quotes numbers the data does not hold", async () => {
    await seedDay(t.db);
    answer({ summary: "17 tasks were done and 99 % of the budget is gone." });
    const res = await run(depsFor());
    const out = res.result as Run;
    expect(out.summary).toMatchObject({ source: "template", text: TEMPLATE });
    expect(out.summary?.why).toMatch(/answered badly twice: it quotes 17, 99/);
    // The repair turn told it why; both answers were metered (they cost tokens).
    expect(model.requests).toHaveLength(2);
    expect(JSON.stringify(model.requests[1])).toContain("which the data does not hold");
    const usage = await t.db.select().from(tokenUsage).where(eq(tokenUsage.purpose, "digest"));
    expect(usage.map((u) => u.idempotencyKey).sort()).toEqual([
      "run_digest_1:digest",
      "run_digest_1:digest:repair",
    ]);
    expect(posted()[0]?.blocks?.slice(3)).toEqual(numberBlocks());
  });

  it("meters a malformed answer too: the GPU computed it even though it could not be used", async () => {
    await seedDay(t.db);
    answer("not a summary");
    const res = await run(depsFor());
    expect((res.result as Run).summary).toMatchObject({ source: "template" });
    expect(model.requests).toHaveLength(2);
    const usage = await t.db.select().from(tokenUsage).where(eq(tokenUsage.purpose, "digest"));
    expect(usage.map((u) => u.idempotencyKey).sort()).toEqual([
      "run_digest_1:digest:unused1",
      "run_digest_1:digest:unused2",
    ]);
  });

  it("posts nothing in dry-run: the exact request is logged, kept in settings and returned", async () => {
    await seedDay(t.db);
    const { logger, lines } = recordingLogger();
    const res = await run(depsFor({ FOREMAN_DRY_RUN: "true" }, logger));
    expect(res.error).toBeUndefined();
    const out = res.result as Run & { post: { posted: string; request: Record<string, unknown> } };
    expect(out.state).toBe("would_do");
    expect(slack.calls).toHaveLength(0);
    const request = out.post.request;
    expect(request).toMatchObject({ method: "chat.postMessage", channel: FAKE_REVIEW_CHANNEL });
    expect((request.blocks as unknown[]).slice(3)).toEqual(numberBlocks());
    expect(lines.find((l) => l.msg === "WOULD_DO: digest to Slack")?.fields?.request).toEqual(request);
    const [kept] = await t.db
      .select()
      .from(settings)
      .where(eq(settings.key, "digest.daily.2026-03-09.dry_run"));
    expect(kept?.value).toEqual({ recorded: "would_do", request });
  });

  it("posts once per period: a second run (or a retried post) finds the mark and does not post again", async () => {
    await seedDay(t.db);
    const first = await run(depsFor(), digest, "run_a");
    expect((first.result as Run).post).toMatchObject({ posted: "sent" });
    const ts = posted()[0]?.ts;
    const second = await run(depsFor(), digest, "run_b");
    expect((second.result as Run).post).toEqual({ posted: "already", channel: FAKE_REVIEW_CHANNEL, ts });
    expect(slack.callsTo("chat.postMessage")).toHaveLength(1);
  });

  it("does not post over a claim an earlier attempt never confirmed (it may have posted)", async () => {
    await seedDay(t.db);
    await t.db.insert(settings).values({
      key: "digest.daily.2026-03-09",
      value: { state: "posting", at: "2026-03-10T07:00:01.000Z" },
    });
    const res = await run(depsFor());
    expect(res.error).toBeUndefined();
    expect((res.result as Run).post).toEqual({ posted: "uncertain", claimedAt: "2026-03-10T07:00:01.000Z" });
    expect(slack.calls).toHaveLength(0);
  });

  it("releases its claim when Slack refuses, so the retry posts", async () => {
    await seedDay(t.db);
    slack.failNext("chat.postMessage", { status: 500 });
    slack.failNext("chat.postMessage", { status: 500 });
    slack.failNext("chat.postMessage", { status: 500 });
    const failed = await run(depsFor(), digest, "run_a");
    expect(failed.error).toBeDefined();
    expect(posted()).toHaveLength(0);
    expect(
      await t.db.select().from(settings).where(eq(settings.key, "digest.daily.2026-03-09")),
    ).toHaveLength(0);
    const retried = await run(depsFor(), digest, "run_a");
    expect((retried.result as Run).post).toMatchObject({ posted: "sent" });
    expect(posted()).toHaveLength(1);
  });

  it("says so and does not fail when Slack is not configured outside dry-run", async () => {
    await seedDay(t.db);
    const { deps } = testDeps(t.db, { ...env(), SLACK_BOT_TOKEN: "", SLACK_REVIEW_CHANNEL: "" });
    const res = await run({ ...deps, now: () => NOW });
    expect(res.error).toBeUndefined();
    expect(res.result).toMatchObject({
      state: "unconfigured",
      post: {
        posted: "unconfigured",
        missing: ["SLACK_BOT_TOKEN", "FOREMAN_DIGEST_CHANNEL (or SLACK_REVIEW_CHANNEL)"],
      },
    });
    expect(slack.calls).toHaveLength(0);
  });

  it("posts to FOREMAN_DIGEST_CHANNEL when it is set", async () => {
    await seedDay(t.db);
    slack.addChannel({ id: "C0DIGEST01", name: "digest", members: ["U0FOREMAN1"] });
    const res = await run(depsFor({ FOREMAN_DIGEST_CHANNEL: "C0DIGEST01" }));
    expect((res.result as Run).post).toMatchObject({ posted: "sent", channel: "C0DIGEST01" });
    expect(slack.messages.get("C0DIGEST01")).toHaveLength(1);
    expect(posted()).toHaveLength(0);
  });

  it("covers the seven days before in the weekly digest", async () => {
    await seedDay(t.db);
    const res = await run(depsFor(), digestWeekly);
    const out = res.result as Run;
    expect(out.digest.period).toMatchObject({
      kind: "weekly",
      from: "2026-03-03",
      to: "2026-03-09",
      days: 7,
    });
    // The day's 13 events plus Sunday's five (t1 submitted, t4 done, t7 ready, t10 to the client, t15 failed).
    expect(out.digest.events).toBe(18);
    expect(out.digest.done.total).toBe(4);
    expect(out.digest.done.byWorker).toEqual([
      { key: "crm-setup", label: "CRM setup", n: 2 },
      { key: "writer", label: "Writer", n: 2 },
    ]);
    expect(out.digest.failures.byClass).toMatchObject({ timeout: 2, auth: 1, rate_limit: 1 });
    expect(out.digest.spend).toMatchObject({ tokens: 124_000, budget: { tokens: 700_000, costUsd: 7 } });
    const blocks = posted()[0]?.blocks ?? [];
    expect(blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "foreman weekly digest · Tue 3 Mar – Mon 9 Mar 2026" },
    });
  });
});
