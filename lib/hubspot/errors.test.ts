// HubSpot SDK failures → DomainError: which code, and for a 429 how long to wait (the daily cap waits
// an hour, a rolling window its interval, an explicit Retry-After what it says).
import { describe, expect, it } from "vitest";
import { fromHubSpotError, rateLimitDelayMs } from "./errors.ts";

const rateLimited = (policyName: string, headers: Record<string, string> = {}) => ({
  code: 429,
  headers,
  body: {
    status: "error",
    message: "You have reached your daily limit.",
    errorType: "RATE_LIMIT",
    policyName,
  },
});

describe("fromHubSpotError", () => {
  it("waits an hour on the DAILY policy, not the 10 s of a rolling window, and names the policy", () => {
    const e = fromHubSpotError(rateLimited("DAILY"), "ticket 42");
    expect(e).toMatchObject({ code: "RATE_LIMITED", retryable: true, retryAfterMs: 3_600_000 });
    expect(e.message).toContain("DAILY");
    expect(e.details).toMatchObject({ status: 429, policyName: "DAILY" });
  });

  it("waits the rolling window's interval, or HubSpot's Retry-After when it sends one", () => {
    const secondly = rateLimited("TEN_SECONDLY_ROLLING", {
      "x-hubspot-ratelimit-interval-milliseconds": "10000",
    });
    expect(fromHubSpotError(secondly, "x").retryAfterMs).toBe(10_000);
    expect(rateLimitDelayMs({ "retry-after": "3" }, { policyName: "DAILY" })).toBe(3000);
    expect(rateLimitDelayMs(undefined, undefined)).toBe(10_000);
  });

  it("maps the other statuses: 404, 401/403, 409, other 4xx, 5xx", () => {
    expect(fromHubSpotError({ code: 404, body: { message: "gone" } }, "ticket 1").code).toBe("NOT_FOUND");
    expect(fromHubSpotError({ code: 403 }, "x")).toMatchObject({ code: "UNAUTHORIZED", retryable: false });
    expect(fromHubSpotError({ code: 409 }, "x").code).toBe("CONFLICT");
    expect(fromHubSpotError({ code: 400 }, "x").code).toBe("VALIDATION");
    expect(fromHubSpotError({ code: 502 }, "x")).toMatchObject({ code: "UPSTREAM", retryable: true });
  });
});
