// The watchdog's pure decisions: stuck → retry once → triage (timeout), leak reasons, the doubling
// pause between re-sends of a lost event, the lost-wait signal on the stage's window, and the outbox
// alert raised once per stall.
import { describe, expect, it } from "vitest";
import { classOfReason } from "../failures.ts";
import {
  leakReason,
  lostWait,
  outboxAlertDecision,
  outboxAlertText,
  resendDue,
  resendPauseMs,
  STUCK_REASON_PREFIX,
  stuckVerdict,
} from "./decide.ts";

const MIN = 60_000;

describe("stuckVerdict", () => {
  it("retries the first time, naming the cancelled run, under the watchdog prefix", () => {
    const v = stuckVerdict({ earlierRetries: 0, minutes: 30, runId: "run_1" });
    expect(v.to).toBe("ready");
    expect(v.reason.startsWith(STUCK_REASON_PREFIX)).toBe(true);
    expect(v.reason).toContain("run run_1 cancelled");
    expect(v.reason).toContain("30 minutes");
  });

  it("sends a task stuck after a watchdog retry to triage with class timeout", () => {
    const v = stuckVerdict({ earlierRetries: 1, minutes: 30, runId: null });
    expect(v.to).toBe("failed_needs_triage");
    expect(classOfReason(v.reason)).toBe("timeout");
    expect(v.reason).toMatch(/^timeout: watchdog: stuck/);
    expect(v.reason).toContain("no run held it");
  });
});

describe("leakReason", () => {
  const live = { runId: "r", runStatus: "running", taskStatus: "working", currentRunId: "r" };
  it("is null for a lease its live run holds", () => {
    expect(leakReason(live)).toBeNull();
  });
  it("names an ended run, a task that moved on, and a task worked by another run", () => {
    expect(leakReason({ ...live, runStatus: "failed" })).toBe("its run already ended (failed)");
    expect(leakReason({ ...live, taskStatus: "done" })).toBe("its task is done, not working");
    expect(leakReason({ ...live, currentRunId: "r2" })).toBe("its task is worked by another run (r2)");
    expect(leakReason({ ...live, currentRunId: null })).toBe("its task is held by no run");
  });
});

describe("resendDue", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");
  const at = (m: number) => new Date(t0.getTime() + m * MIN);

  it("doubles the pause per attempt, at most a day", () => {
    expect([1, 2, 3, 4].map((a) => resendPauseMs(a, 15) / MIN)).toEqual([15, 30, 60, 120]);
    expect(resendPauseMs(20, 15) / MIN).toBe(24 * 60);
  });

  it("is due after the idle time, then only after twice as long since the last re-send", () => {
    const base = { lastActivity: t0, lastResend: null, attempts: 0, minutes: 15 };
    expect(resendDue({ ...base, now: at(14) })).toBe(false);
    expect(resendDue({ ...base, now: at(15) })).toBe(true);
    const once = { ...base, lastResend: at(15), attempts: 1 };
    expect(resendDue({ ...once, now: at(15) })).toBe(false);
    expect(resendDue({ ...once, now: at(44) })).toBe(false);
    expect(resendDue({ ...once, now: at(45) })).toBe(true);
  });

  it("counts from fresh activity after a re-send", () => {
    expect(
      resendDue({ lastActivity: at(40), lastResend: at(15), attempts: 1, minutes: 15, now: at(45) }),
    ).toBe(false);
  });
});

describe("lostWait", () => {
  const clock = {
    FOREMAN_STAMP_REMIND_HOURS: 1,
    FOREMAN_STAMP_ESCALATE_HOURS: 2,
    FOREMAN_STAMP_TIMEOUT_DAYS: 1,
  };
  const enteredAt = new Date("2026-01-01T00:00:00Z");
  const minutesIn = (m: number) => new Date(enteredAt.getTime() + m * MIN);
  const base = {
    stage: "internal" as const,
    enteredAt,
    reminded: false,
    escalated: false,
    lastResume: null,
    graceMinutes: 15,
    clock,
  };

  it("waits for the grace past the reminder time before calling the wait lost", () => {
    expect(lostWait({ ...base, now: minutesIn(74) })).toEqual({ lost: false });
    expect(lostWait({ ...base, now: minutesIn(75) })).toMatchObject({
      lost: true,
      missing: "reminder",
      due: "2026-01-01T01:00:00.000Z",
    });
  });

  it("is not lost while the run writes its milestones on time", () => {
    expect(lostWait({ ...base, reminded: true, now: minutesIn(130) })).toEqual({ lost: false });
    expect(lostWait({ ...base, reminded: true, escalated: true, now: minutesIn(23 * 60) })).toEqual({
      lost: false,
    });
  });

  it("names the latest missing milestone: the escalation, then the deadline", () => {
    expect(lostWait({ ...base, reminded: true, now: minutesIn(135) })).toMatchObject({
      missing: "escalation",
    });
    expect(lostWait({ ...base, now: minutesIn(135) })).toMatchObject({ missing: "escalation" });
    expect(
      lostWait({ ...base, reminded: true, escalated: true, now: minutesIn(24 * 60 + 15) }),
    ).toMatchObject({
      missing: "deadline",
    });
  });

  it("gives a stage the watchdog just resumed the grace to catch up", () => {
    expect(lostWait({ ...base, lastResume: minutesIn(80), now: minutesIn(90) })).toEqual({ lost: false });
    expect(lostWait({ ...base, lastResume: minutesIn(80), now: minutesIn(95) })).toMatchObject({
      lost: true,
    });
  });
});

describe("the outbox alert", () => {
  const status = (oldestPendingSeconds: number | null, pending = 3) => ({
    pending,
    oldestPendingSeconds,
    abandoned: 0,
  });
  it("alerts once per stall and clears when the outbox drains", () => {
    expect(outboxAlertDecision(status(14 * 60), "none", 15)).toBe("none");
    expect(outboxAlertDecision(status(15 * 60), "none", 15)).toBe("alert");
    expect(outboxAlertDecision(status(40 * 60), "open", 15)).toBe("none");
    expect(outboxAlertDecision(status(null, 0), "open", 15)).toBe("clear");
    expect(outboxAlertDecision(status(60), "open", 15)).toBe("clear");
    expect(outboxAlertDecision(status(null, 0), "none", 15)).toBe("none");
    // A notice of lost events still owed: tried again while drained, and no bar to the next alert.
    expect(outboxAlertDecision(status(null, 0), "notice_owed", 15)).toBe("clear");
    expect(outboxAlertDecision(status(20 * 60), "notice_owed", 15)).toBe("alert");
  });
  it("says how much is waiting, since when, and where to look", () => {
    const text = outboxAlertText({ pending: 4, oldestPendingSeconds: 21 * 60, abandoned: 2 });
    expect(text).toContain("4 events waiting");
    expect(text).toContain("the oldest for 21 minutes");
    expect(text).toContain("2 more outlived");
    expect(text).toContain("/health");
  });
});
