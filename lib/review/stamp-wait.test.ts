// The human stage's clock, pure: the three phases in order, and each wait cut into a short first
// piece (a click that beat the wait is found within it) and then pieces of at most seven days.
import { describe, expect, it } from "vitest";
import { FIRST_WAIT_MS, MAX_WAIT_MS, phasesOf, stampWindow, waitPieces } from "./stamp-wait.ts";

const at = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const T0 = "2026-12-01T09:00:00.000Z";
const HOUR = 3_600_000;

describe("waitPieces", () => {
  it("ends the first piece a minute in, then waits out the rest", () => {
    expect(waitPieces(T0, at(T0, 24 * HOUR))).toEqual([at(T0, FIRST_WAIT_MS), at(T0, 24 * HOUR)]);
  });

  it("chains a long wait into pieces of at most seven days after the first", () => {
    const pieces = waitPieces(T0, at(T0, 14 * 24 * HOUR));
    expect(pieces).toEqual([
      at(T0, FIRST_WAIT_MS),
      at(T0, FIRST_WAIT_MS + MAX_WAIT_MS),
      at(T0, 14 * 24 * HOUR),
    ]);
    const gaps = pieces.map((p, i) => Date.parse(p) - Date.parse(i === 0 ? T0 : (pieces[i - 1] as string)));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(MAX_WAIT_MS);
  });

  it("waits once when the phase is no longer than the first piece", () => {
    expect(waitPieces(T0, at(T0, 30_000))).toEqual([at(T0, 30_000)]);
    expect(waitPieces(T0, at(T0, FIRST_WAIT_MS))).toEqual([at(T0, FIRST_WAIT_MS)]);
  });

  it("waits once, already over, for a phase that ends before it starts", () => {
    expect(waitPieces(T0, at(T0, -HOUR))).toEqual([at(T0, -HOUR)]);
  });

  it("takes other sizes", () => {
    expect(waitPieces(T0, at(T0, 10 * HOUR), { first: HOUR, max: 4 * HOUR })).toEqual([
      at(T0, HOUR),
      at(T0, 5 * HOUR),
      at(T0, 9 * HOUR),
      at(T0, 10 * HOUR),
    ]);
  });
});

describe("phasesOf", () => {
  it("runs remind, escalate, deadline back to back from the announcement", () => {
    const w = stampWindow("internal", new Date(T0), {
      FOREMAN_STAMP_REMIND_HOURS: 24,
      FOREMAN_STAMP_ESCALATE_HOURS: 72,
      FOREMAN_STAMP_TIMEOUT_DAYS: 5,
    });
    expect(phasesOf(w)).toEqual([
      { phase: "remind", from: T0, until: at(T0, 24 * HOUR) },
      { phase: "escalate", from: at(T0, 24 * HOUR), until: at(T0, 72 * HOUR) },
      { phase: "deadline", from: at(T0, 72 * HOUR), until: at(T0, 120 * HOUR) },
    ]);
  });
});
