// Shaping the gathered rows into the digest's numbers, and the decision to send it (pure).
import { describe, expect, it } from "vitest";
import { worthSending } from "./decide.ts";
import { digestPeriod } from "./period.ts";
import { type RawDigest, shapeDigest } from "./shape.ts";

const period = digestPeriod("daily", new Date("2026-03-10T07:00:00Z"), "Europe/Paris");
const empty: RawDigest = {
  events: 0,
  done: [],
  states: [],
  failures: [],
  usage: [],
  stuck: [],
  stuck_counts: { silent: 0, queued: 0 },
  waiting: [],
  waiting_counts: { internal: 0, client: 0, oldest: null },
};
const usage = (over: Partial<RawDigest["usage"][number]>): RawDigest["usage"][number] => ({
  project_id: "proj_a",
  project_name: "Acme",
  has_task: true,
  worker_id: "crm-setup",
  worker_name: "CRM setup",
  provider: "anthropic",
  tier: "primary",
  tokens: 0,
  cost_usd: 0,
  ...over,
});

describe("shapeDigest", () => {
  it("sums done by project and by worker, most first", () => {
    const d = shapeDigest(
      {
        ...empty,
        done: [
          { project_id: "proj_a", project_name: "Acme", worker_id: "w1", worker_name: "Writer", n: 2 },
          { project_id: "proj_a", project_name: "Acme", worker_id: null, worker_name: null, n: 1 },
          { project_id: "proj_b", project_name: "Beta", worker_id: "w1", worker_name: "Writer", n: 1 },
        ],
      },
      period,
      { dailyTokens: 1000 },
    );
    expect(d.done).toEqual({
      total: 4,
      skipped: 0,
      byProject: [
        { key: "proj_a", label: "Acme", n: 3 },
        { key: "proj_b", label: "Beta", n: 1 },
      ],
      byWorker: [
        { key: "w1", label: "Writer", n: 3 },
        { key: null, label: "(unassigned)", n: 1 },
      ],
    });
  });

  it("counts every state, zeros included", () => {
    const d = shapeDigest(
      {
        ...empty,
        states: [
          { status: "ready", n: 2 },
          { status: "done", n: 5 },
        ],
      },
      period,
      { dailyTokens: 1 },
    );
    expect(d.states).toEqual({
      intake: 0,
      ready: 2,
      working: 0,
      awaiting_internal_review: 0,
      awaiting_client_review: 0,
      done: 5,
      blocked_external: 0,
      failed_needs_triage: 0,
      cancelled: 0,
    });
  });

  it("classes failures by their reason, with the transition's classifier", () => {
    const d = shapeDigest(
      {
        ...empty,
        failures: [
          { reason: "timeout: no progress for 40 min", n: 2 },
          { reason: "auth: the key was revoked", n: 1 },
          { reason: "HubSpot answered 502", n: 1 },
          { reason: null, n: 1 },
        ],
      },
      period,
      { dailyTokens: 1 },
    );
    expect(d.failures.total).toBe(5);
    expect(d.failures.byClass).toEqual({
      rate_limit: 0,
      auth: 1,
      timeout: 2,
      malformed_output: 0,
      budget: 0,
      dependency: 0,
      external_api: 1,
      other: 1,
    });
  });

  it("sets spend against the daily budgets times the period's days, with the local share", () => {
    const week = digestPeriod("weekly", new Date("2026-03-09T07:00:00Z"), "UTC");
    const raw = {
      ...empty,
      usage: [
        usage({ tokens: 6000, cost_usd: 0.03 }),
        usage({ provider: "bridge", tier: "local", tokens: 3000, cost_usd: 0.0001 }),
        usage({
          project_id: null,
          project_name: null,
          has_task: false,
          worker_id: null,
          worker_name: null,
          provider: "bridge",
          tier: "local",
          tokens: 1000,
          cost_usd: 0.0002,
        }),
      ],
    };
    const d = shapeDigest(raw, week, { dailyTokens: 1000, dailyCostUsd: 0.5 });
    expect(d.spend).toEqual({
      tokens: 10_000,
      costUsd: 0.0303,
      budget: { tokens: 7000, costUsd: 3.5 },
      tokenShare: 10_000 / 7000,
      costShare: 0.0303 / 3.5,
      byProject: [
        { key: "proj_a", label: "Acme", tokens: 9000, costUsd: 0.0301 },
        { key: null, label: "(no project)", tokens: 1000, costUsd: 0.0002 },
      ],
      byWorker: [
        { key: "crm-setup", label: "CRM setup", tokens: 9000, costUsd: 0.0301 },
        { key: null, label: "(no task)", tokens: 1000, costUsd: 0.0002 },
      ],
      byProvider: [
        { key: "anthropic", label: "anthropic", tokens: 6000, costUsd: 0.03 },
        { key: "bridge", label: "bridge", tokens: 4000, costUsd: 0.0003 },
      ],
      localTokens: 4000,
      localShare: 0.4,
    });
    // No cost budget and nothing spent: no shares to show.
    const none = shapeDigest(empty, period, { dailyTokens: 1000 });
    expect(none.spend).toMatchObject({ costShare: null, localShare: null, budget: { costUsd: null } });
  });

  it("ages stuck items and waiting stamps in whole hours as of the digest", () => {
    const d = shapeDigest(
      {
        ...empty,
        stuck: [
          {
            id: "t1",
            title: "A",
            status: "working",
            project_name: "Acme",
            since: "2026-03-10T03:59:00Z",
          },
          { id: "t2", title: "B", status: "ready", project_name: "Acme", since: "2026-03-08T07:00:00+00:00" },
        ],
        stuck_counts: { silent: 1, queued: 1 },
        waiting: [
          {
            id: "t3",
            title: "C",
            status: "awaiting_client_review",
            project_name: "Beta",
            since: "2026-03-09T09:00:00Z",
            waiting_on: [{ name: "Fay", escalates: false }],
          },
        ],
        waiting_counts: { internal: 0, client: 1, oldest: "2026-03-09T09:00:00Z" },
      },
      period,
      { dailyTokens: 1 },
    );
    expect(d.stuck).toEqual({
      total: 2,
      silent: 1,
      queued: 1,
      items: [
        expect.objectContaining({ taskId: "t1", why: "silent", hours: 3, since: "2026-03-10T03:59:00.000Z" }),
        expect.objectContaining({ taskId: "t2", why: "queued", hours: 48, state: "ready" }),
      ],
    });
    expect(d.stamps).toEqual({
      total: 1,
      internal: 0,
      client: 1,
      oldestHours: 22,
      items: [
        {
          taskId: "t3",
          title: "C",
          project: "Beta",
          stage: "client",
          since: "2026-03-09T09:00:00.000Z",
          hours: 22,
          waitingOn: [{ name: "Fay", escalates: false }],
        },
      ],
    });
  });
});

describe("worthSending", () => {
  it("skips a period where nothing happened, even with spend", () => {
    const quiet = shapeDigest({ ...empty, usage: [usage({ tokens: 500 })] }, period, { dailyTokens: 1 });
    expect(worthSending(quiet)).toEqual({
      send: false,
      reason:
        "nothing happened from 2026-03-09 to 2026-03-09 (Europe/Paris): no events, no stamps waiting, nothing stuck, no failures",
    });
  });

  it("sends when any one of events, waiting stamps, stuck items or failures is there", () => {
    const limits = { dailyTokens: 1 };
    expect(worthSending(shapeDigest({ ...empty, events: 1 }, period, limits))).toEqual({
      send: true,
      because: ["1 event in the period"],
    });
    const waiting = { ...empty, waiting_counts: { internal: 1, client: 0, oldest: "2026-03-09T00:00:00Z" } };
    expect(worthSending(shapeDigest(waiting, period, limits))).toMatchObject({ send: true });
    const stuck = { ...empty, stuck_counts: { silent: 0, queued: 1 } };
    expect(worthSending(shapeDigest(stuck, period, limits))).toMatchObject({ send: true });
    const failed = { ...empty, failures: [{ reason: "auth: x", n: 1 }] };
    expect(worthSending(shapeDigest(failed, period, limits))).toMatchObject({ send: true });
  });
});
