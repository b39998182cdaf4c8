// One classifier for every failure: DomainError codes and declared classes, message patterns, and
// reasons in the `<class>: message` form read back exactly.
import { describe, expect, it } from "vitest";
import { DomainError } from "./errors.ts";
import { classifyFailure, classOfReason, FAILURE_CLASSES, failureReason, splitReason } from "./failures.ts";

describe("failure taxonomy", () => {
  it("classifies DomainErrors by declared class first, then by code", () => {
    expect(classifyFailure(new DomainError("UNAUTHORIZED", "no", { details: { class: "auth" } }))).toBe(
      "auth",
    );
    expect(classifyFailure(new DomainError("UPSTREAM", "x", { details: { class: "timeout" } }))).toBe(
      "timeout",
    );
    expect(classifyFailure(new DomainError("UPSTREAM", "x", { details: { class: "upstream" } }))).toBe(
      "external_api",
    );
    expect(classifyFailure(new DomainError("RATE_LIMITED", "slow down"))).toBe("rate_limit");
    expect(classifyFailure(new DomainError("LIMIT_EXCEEDED", "cap"))).toBe("budget");
    expect(classifyFailure(new DomainError("UPSTREAM", "bad", { details: { reason: "malformed" } }))).toBe(
      "malformed_output",
    );
  });

  it("reads plain errors by their message, and calls the rest other", () => {
    expect(classifyFailure(new Error("Request timed out"))).toBe("timeout");
    expect(classifyFailure(new Error("401 Unauthorized"))).toBe("auth");
    expect(classifyFailure(new Error("HTTP 429 Too Many Requests"))).toBe("rate_limit");
    expect(classifyFailure(new Error("connect ECONNREFUSED 127.0.0.1:1"))).toBe("external_api");
    expect(classifyFailure(new Error("x is not a function"))).toBe("other");
  });

  it("reads back every class from a reason, exactly", () => {
    for (const c of FAILURE_CLASSES)
      expect(classOfReason(failureReason(c, "something 401 timed out"))).toBe(c);
    expect(classOfReason("upstream: HubSpot answered 502")).toBe("external_api");
    expect(classOfReason("the worker stopped")).toBe("other");
    expect(classOfReason(null)).toBe("other");
  });
});

describe("splitReason", () => {
  it("drops the prefix that named the class (or its alias), and keeps an unnamed reason whole", () => {
    expect(splitReason("auth: the key was refused")).toEqual({
      class: "auth",
      detail: "the key was refused",
    });
    expect(splitReason("upstream: HubSpot 502")).toEqual({ class: "external_api", detail: "HubSpot 502" });
    expect(splitReason("note: 429 Too Many Requests")).toEqual({
      class: "rate_limit",
      detail: "note: 429 Too Many Requests",
    });
    expect(splitReason(null)).toEqual({ class: "other", detail: "" });
  });
});

describe("the waterfall's own refusal", () => {
  it("is a rate limit, also when onFailure sees only its message", () => {
    expect(
      classifyFailure(new Error("rate_limit: every worker model provider is cooling down (api.openai.com)")),
    ).toBe("rate_limit");
  });
});
