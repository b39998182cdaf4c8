// The reviewer's retry window is a setting: doubling pauses that add up to it.
import { describe, expect, it } from "vitest";
import { DomainError } from "../errors.ts";
import { afterReviewerFailure, reviewRetryDelayMs } from "./run.ts";

describe("reviewRetryDelayMs", () => {
  it("doubles each pause and spends exactly the window over the retries", () => {
    const window = 31 * 60_000;
    const pauses = [0, 1, 2, 3, 4].map((a) => reviewRetryDelayMs(a, 5, window));
    expect(pauses).toEqual([60_000, 120_000, 240_000, 480_000, 960_000]);
    expect(pauses.reduce((a, b) => a + b, 0)).toBe(window);
  });

  it("never pauses under a second and never past the last share", () => {
    expect(reviewRetryDelayMs(0, 5, 10)).toBe(1000);
    expect(reviewRetryDelayMs(9, 5, 31_000)).toBe(16_000);
  });
});

describe("afterReviewerFailure", () => {
  const down = new DomainError("UNAVAILABLE", "the bridge answered 503", { retryAfterMs: 5000 });
  const opts = { retries: 5, windowMs: 31 * 60_000, fallback: false };

  it("retries a reviewer that is down after its share of the window, or its own Retry-After if longer", () => {
    const r = afterReviewerFailure(down, { ...opts, attempt: 2 });
    expect(r.next).toBe("throw");
    expect((r as { error: DomainError }).error).toMatchObject({ retryable: true, retryAfterMs: 240_000 });
    const long = new DomainError("UNAVAILABLE", "busy", { retryAfterMs: 900_000 });
    expect(
      (afterReviewerFailure(long, { ...opts, attempt: 0 }) as { error: DomainError }).error.retryAfterMs,
    ).toBe(900_000);
  });

  it("falls back only on the last try and only when a fallback exists; otherwise the error parks it", () => {
    expect(afterReviewerFailure(down, { ...opts, attempt: 5, fallback: true })).toEqual({ next: "fallback" });
    expect(afterReviewerFailure(down, { ...opts, attempt: 5 })).toEqual({ next: "throw", error: down });
    expect(afterReviewerFailure(down, { ...opts, attempt: 4, fallback: true }).next).toBe("throw");
  });

  it("never falls back for malformed answers or other errors", () => {
    const malformed = new DomainError("UPSTREAM", "malformed twice", { details: { reason: "malformed" } });
    expect(afterReviewerFailure(malformed, { ...opts, attempt: 5, fallback: true })).toEqual({
      next: "throw",
      error: malformed,
    });
    const bug = new TypeError("x is undefined");
    expect(afterReviewerFailure(bug, { ...opts, attempt: 5, fallback: true })).toEqual({
      next: "throw",
      error: bug,
    });
  });
});
