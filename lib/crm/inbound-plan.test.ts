// Inbound stage changes, classified from the database alone: unknown setup / ticket / stage ignored,
// our own writes (stage and time) recognised as echoes even out of order, a ticket already in the
// task's stage in step, and a person's move mapped to a command or refused with a reason — checked
// against the state machine for every (from, to) pair.
import { describe, expect, it } from "vitest";
import type { SetupMapping } from "../hubspot/setup-mapping.ts";
import { canTransition, isTerminal, TASK_STATES } from "../states.ts";
import { CLOCK_SKEW_MS, classifyStageChange, commandFor, ECHO_WINDOW, isEcho } from "./inbound-plan.ts";

const mapping: SetupMapping = {
  pipelineId: "p1",
  stageIds: Object.fromEntries(TASK_STATES.map((s, i) => [s, `s${i}`])) as SetupMapping["stageIds"],
  propertyGroup: "foreman",
  properties: [],
};
const stage = (s: (typeof TASK_STATES)[number]) => mapping.stageIds[s];
const T = 1_760_000_000_000;
const task = { id: "task_1", status: "awaiting_client_review" as const };

describe("classifyStageChange", () => {
  it("ignores changes before setup, for tickets of no task and for stages of other pipelines", () => {
    const change = { ticketId: "9", stageId: stage("done"), occurredAt: T };
    expect(classifyStageChange(change, { mapping: undefined, task, pushes: [] })).toMatchObject({
      kind: "ignored",
    });
    expect(classifyStageChange(change, { mapping, task: undefined, pushes: [] })).toMatchObject({
      kind: "ignored",
      reason: expect.stringContaining("no task"),
    });
    expect(classifyStageChange({ ...change, stageId: "1" }, { mapping, task, pushes: [] })).toMatchObject({
      kind: "ignored",
      reason: expect.stringContaining("not a stage of the foreman pipeline"),
    });
  });

  it("drops our own writes — also a late, out-of-order echo of an older one — by stage and time", () => {
    const pushes = [
      { stageId: stage("working"), eventId: 10, at: T },
      { stageId: stage("awaiting_client_review"), eventId: 11, at: T + 5_000 },
    ];
    const late = { ticketId: "9", stageId: stage("working"), occurredAt: T + 200 };
    expect(classifyStageChange(late, { mapping, task, pushes })).toEqual({ kind: "echo" });
    // The same stage long after our write is a person's move, not our echo.
    const person = { ...late, occurredAt: T + ECHO_WINDOW.afterMs + 1 };
    expect(classifyStageChange(person, { mapping, task, pushes })).toMatchObject({ kind: "refused" });
    expect(isEcho(pushes, { ...late, occurredAt: T - ECHO_WINDOW.beforeMs - 1 })).toBe(false);
    // Our writes come back as API or INTEGRATION changes; a person's move by hand, even a moment after
    // our write of the same stage, is never our echo (the task failed meanwhile, the person retries it).
    expect(isEcho(pushes, { ...late, changeSource: "INTEGRATION" })).toBe(true);
    for (const changeSource of ["CRM_UI", "MOBILE_IOS"])
      expect(isEcho(pushes, { ...late, changeSource })).toBe(false);
  });

  it("is in step when the ticket already shows the task's state", () => {
    const change = { ticketId: "9", stageId: stage("awaiting_client_review"), occurredAt: T };
    expect(classifyStageChange(change, { mapping, task, pushes: [] })).toEqual({ kind: "in_step" });
  });

  it("turns the client's move to Done into a client stamp, and to Cancelled into a cancel", () => {
    const done = classifyStageChange(
      { ticketId: "9", stageId: stage("done"), occurredAt: T },
      { mapping, task, pushes: [] },
    );
    expect(done).toEqual({
      kind: "command",
      from: "awaiting_client_review",
      to: "done",
      command: { kind: "client_stamp", decision: "approve" },
    });
    const cancel = classifyStageChange(
      { ticketId: "9", stageId: stage("cancelled"), occurredAt: T },
      { mapping, task: { id: "t", status: "working" }, pushes: [] },
    );
    expect(cancel).toMatchObject({ kind: "command", command: { kind: "cancel" } });
  });
});

describe("a client's move made before the ticket showed this version", () => {
  it("is refused, naming both moments; one made after it (or within the clock skew) is the client's decision", () => {
    const task = { id: "t", status: "awaiting_client_review" as const };
    // The second round's push of the client stage, a minute after the first round's.
    const pushes = [
      { stageId: stage("awaiting_client_review"), eventId: 3, at: T - 60_000 },
      { stageId: stage("awaiting_client_review"), eventId: 9, at: T },
    ];
    const done = (occurredAt: number) =>
      classifyStageChange({ ticketId: "9", stageId: stage("done"), occurredAt }, { mapping, task, pushes });
    expect(done(T - 30_000)).toMatchObject({
      kind: "refused",
      reason: expect.stringMatching(/before it showed this version for review/),
    });
    for (const occurredAt of [T + 60_000, T - CLOCK_SKEW_MS + 1]) {
      expect(done(occurredAt)).toMatchObject({
        kind: "command",
        command: { kind: "client_stamp", decision: "approve" },
      });
    }
    // Back in review (entered at event 12) before this round's push is on record: the first round's
    // move, made after its push, decides nothing; once the round's push is there, a later move does.
    const backAgain = { ...task, enteredEventId: 12 };
    const move = { ticketId: "9", stageId: stage("done"), occurredAt: T + 60_000 };
    expect(classifyStageChange(move, { mapping, task: backAgain, pushes })).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining("has not been updated yet"),
    });
    const pushed = [...pushes, { stageId: stage("awaiting_client_review"), eventId: 13, at: T + 120_000 }];
    expect(classifyStageChange(move, { mapping, task: backAgain, pushes: pushed })).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining(new Date(T + 120_000).toISOString()),
    });
    expect(
      classifyStageChange({ ...move, occurredAt: T + 180_000 }, { mapping, task: backAgain, pushes: pushed }),
    ).toMatchObject({ kind: "command", command: { kind: "client_stamp", decision: "approve" } });
    // This round's push carries the entry's own event id (the sync read it as last_event_id).
    const same = [{ stageId: stage("awaiting_client_review"), eventId: 12, at: T }];
    expect(classifyStageChange(move, { mapping, task: backAgain, pushes: same })).toMatchObject({
      kind: "command",
    });
    // A cancel stands whenever it was made.
    expect(
      classifyStageChange(
        { ticketId: "9", stageId: stage("cancelled"), occurredAt: T - 30_000 },
        { mapping, task, pushes },
      ),
    ).toMatchObject({ kind: "command", command: { kind: "cancel" } });
  });
});

describe("an unblock, retry or skip made before the ticket showed the task's current state", () => {
  it("is refused (a late re-delivery must not end a later block or failure); made after it, it is the command; a cancel stands", () => {
    // Blocked again (entered at event 50) and pushed at T; an earlier block was pushed an hour before.
    const blocked = { id: "t", status: "blocked_external" as const, enteredEventId: 50 };
    const pushes = [
      { stageId: stage("blocked_external"), eventId: 20, at: T - 3_600_000 },
      { stageId: stage("ready"), eventId: 30, at: T - 1_800_000 },
      { stageId: stage("blocked_external"), eventId: 50, at: T },
    ];
    const toReady = (occurredAt: number, ctx = { mapping, task: blocked, pushes }) =>
      classifyStageChange({ ticketId: "9", stageId: stage("ready"), occurredAt }, ctx);
    // The first block's unblock, re-delivered hours late.
    expect(toReady(T - 3_000_000)).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining("before it showed the task as blocked external"),
    });
    expect(toReady(T + 60_000)).toMatchObject({
      kind: "command",
      command: { kind: "transition", to: "ready", reason: "unblocked in HubSpot" },
    });
    // Blocked again before the ticket showed it: no move can be about this block yet.
    const unshown = pushes.slice(0, 2);
    expect(toReady(T + 60_000, { mapping, task: blocked, pushes: unshown })).toMatchObject({
      kind: "refused",
      reason: expect.stringContaining("has not been updated yet"),
    });

    // A skip to Done of an earlier failure does not mark a later, different failure done.
    const failed = { id: "t", status: "failed_needs_triage" as const, enteredEventId: 70 };
    const failures = [
      { stageId: stage("failed_needs_triage"), eventId: 40, at: T - 3_600_000 },
      { stageId: stage("failed_needs_triage"), eventId: 70, at: T },
    ];
    const done = classifyStageChange(
      { ticketId: "9", stageId: stage("done"), occurredAt: T - 3_000_000 },
      { mapping, task: failed, pushes: failures },
    );
    expect(done).toMatchObject({ kind: "refused", reason: expect.stringContaining("failed needs triage") });

    expect(
      classifyStageChange(
        { ticketId: "9", stageId: stage("cancelled"), occurredAt: T - 3_000_000 },
        { mapping, task: blocked, pushes },
      ),
    ).toMatchObject({ kind: "command", command: { kind: "cancel" } });
  });
});

describe("commandFor", () => {
  it("maps exactly the human moves foreman accepts", () => {
    expect(commandFor("awaiting_client_review", "ready")).toEqual({
      kind: "client_stamp",
      decision: "request_changes",
    });
    expect(commandFor("blocked_external", "ready")).toMatchObject({ kind: "transition", to: "ready" });
    expect(commandFor("failed_needs_triage", "ready")).toMatchObject({ kind: "transition", to: "ready" });
    expect(commandFor("failed_needs_triage", "done")).toMatchObject({ kind: "transition", to: "done" });
    expect(commandFor("awaiting_internal_review", "done")).toMatchObject({
      refuse: expect.stringContaining("Slack"),
    });
    expect(commandFor("awaiting_internal_review", "awaiting_client_review")).toMatchObject({
      refuse: expect.stringContaining("Slack"),
    });
    expect(commandFor("intake", "working")).toMatchObject({ refuse: expect.stringContaining("itself") });
    expect(commandFor("done", "ready")).toMatchObject({ refuse: expect.stringContaining("already done") });
  });

  it("never commands a transition the state machine forbids, and cancels every open state", () => {
    for (const from of TASK_STATES) {
      for (const to of TASK_STATES) {
        if (from === to) continue;
        const c = commandFor(from, to);
        if ("refuse" in c) continue;
        if (c.kind === "cancel") expect(to).toBe("cancelled");
        if (c.kind === "transition") expect(canTransition(from, c.to)).toBe(true);
        if (c.kind === "client_stamp") expect(from).toBe("awaiting_client_review");
        expect(isTerminal(from)).toBe(false);
      }
      if (!isTerminal(from)) expect(commandFor(from, "cancelled")).toEqual({ kind: "cancel" });
    }
  });
});
