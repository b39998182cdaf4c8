// toInngestError: DomainErrors become what Inngest acts on, non-retryable first; everything else is
// left to Inngest's retries. Includes the local model's failures as lib/llm/errors.ts maps them.
import { NonRetriableError, RetryAfterError } from "inngest";
import { APIError } from "openai";
import { describe, expect, it } from "vitest";
import { DomainError, type ErrorCode } from "../lib/errors.ts";
import { fromOpenAIError } from "../lib/llm/errors.ts";
import { toInngestError } from "./errors.ts";

describe("toInngestError", () => {
  it("leaves errors that are not DomainErrors alone", () => {
    const plain = new Error("x");
    expect(toInngestError(plain)).toBe(plain);
    expect(toInngestError("a string")).toBe("a string");
  });

  it.each<ErrorCode>(["VALIDATION", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFIG"])(
    "makes %s a NonRetriableError that keeps the DomainError as its cause",
    (code) => {
      const err = new DomainError(code, "no use trying again");
      const out = toInngestError(err);
      expect(out).toBeInstanceOf(NonRetriableError);
      expect(out).toMatchObject({ message: "no use trying again", cause: err });
    },
  );

  it("honours an explicit retryable: false on a code that is retryable by default", () => {
    const err = new DomainError("UPSTREAM", "the model refused this input for good", { retryable: false });
    expect(toInngestError(err)).toBeInstanceOf(NonRetriableError);
  });

  it("never lets a delay revive a non-retryable error", () => {
    const err = new DomainError("VALIDATION", "bad", { retryAfterMs: 1000 });
    expect(toInngestError(err)).toBeInstanceOf(NonRetriableError);
  });

  it.each<ErrorCode>(["RATE_LIMITED", "UNAVAILABLE"])("makes %s with a delay a RetryAfterError", (code) => {
    const err = new DomainError(code, "come back later", { retryAfterMs: 5000 });
    const out = toInngestError(err);
    expect(out).toBeInstanceOf(RetryAfterError);
    expect(out).toMatchObject({ retryAfter: "5", cause: err });
  });

  it.each([
    ["a retryable DomainError", new DomainError("UPSTREAM", "hung up")],
    ["a rate limit without a delay", new DomainError("RATE_LIMITED", "slow down")],
  ])("leaves %s to Inngest's backoff", (_, err) => {
    expect(toInngestError(err)).toBe(err);
  });

  describe("on the local model's failures", () => {
    const mapped = (status: number, headers: Record<string, string> = {}) =>
      toInngestError(
        fromOpenAIError(
          APIError.generate(status, { error: { message: "no" } }, "no", new Headers(headers)),
          "the bridge",
        ),
      );

    it("turns the bridge's 503 with Retry-After into RetryAfterError after that delay", () => {
      const out = mapped(503, { "retry-after": "3" });
      expect(out).toBeInstanceOf(RetryAfterError);
      expect((out as RetryAfterError).retryAfter).toBe("3");
    });

    it("turns a 429 with retry-after-ms into RetryAfterError", () => {
      expect(mapped(429, { "retry-after-ms": "1500" })).toMatchObject({ retryAfter: "2" });
    });

    it.each([401, 403, 404, 400])("stops at once on %i", (status) => {
      expect(mapped(status)).toBeInstanceOf(NonRetriableError);
    });

    it("leaves a 502 to Inngest's backoff", () => {
      const out = mapped(502);
      expect(out).toBeInstanceOf(DomainError);
      expect(out).toMatchObject({ code: "UPSTREAM" });
    });
  });
});
