// The judgment layer's rules: exactly failed_needs_triage and blocked_external need a person; a
// triage reason is read with the one failure classifier, its prefix kept out of the detail only when
// it named the class; one notice key per move.
import { describe, expect, it } from "vitest";
import { FAILURE_HINTS } from "../failures.ts";
import { TASK_STATES } from "../states.ts";
import { SUBTASKS_REASON } from "../work/subtasks.ts";
import { failureOf, noticeKindOf, stateNoticeKey } from "./plan.ts";

describe("noticeKindOf", () => {
  it("asks for a person only when a task fails into triage or is blocked — every other state is silent", () => {
    const loud = TASK_STATES.filter((s) => noticeKindOf(s) !== null);
    expect(loud.sort()).toEqual(["blocked_external", "failed_needs_triage"]);
    expect(noticeKindOf("failed_needs_triage")).toBe("triage");
    expect(noticeKindOf("blocked_external")).toBe("blocked");
    expect(noticeKindOf("blocked_external", "needs the client's API key")).toBe("blocked");
    // A parent waiting for its own subtasks resumes by itself: nobody is asked.
    expect(noticeKindOf("blocked_external", SUBTASKS_REASON)).toBeNull();
    // The review run's card announces this one; notify must not post a second message.
    expect(noticeKindOf("awaiting_internal_review")).toBeNull();
  });
});

describe("failureOf", () => {
  it("reads `<class>: detail` and attaches what a person does about it", () => {
    expect(failureOf("auth: the key was revoked")).toEqual({
      class: "auth",
      detail: "the key was revoked",
      hint: FAILURE_HINTS.auth,
    });
    expect(failureOf("timeout: no submission after 40 turns").class).toBe("timeout");
  });

  it("takes an alias prefix as its class, and keeps an unrelated prefix in the text", () => {
    expect(failureOf("upstream: HubSpot answered 503")).toMatchObject({
      class: "external_api",
      detail: "HubSpot answered 503",
    });
    expect(failureOf("note: something odd")).toMatchObject({ class: "other", detail: "note: something odd" });
  });

  it("classifies a reason without a prefix by its text, and says so when there is no reason at all", () => {
    expect(failureOf("429 Too Many Requests from the provider")).toMatchObject({
      class: "rate_limit",
      detail: "429 Too Many Requests from the provider",
    });
    expect(failureOf(null)).toMatchObject({ class: "other", detail: "(no reason recorded)" });
    expect(failureOf("  ")).toMatchObject({ class: "other", detail: "(no reason recorded)" });
  });
});

describe("stateNoticeKey", () => {
  it("names one notice per move: the same move again is the same key, a later failure another", () => {
    expect(stateNoticeKey("task_a", 4)).toBe(stateNoticeKey("task_a", 4));
    expect(stateNoticeKey("task_a", 4)).not.toBe(stateNoticeKey("task_a", 6));
    expect(stateNoticeKey("task_a", 4)).not.toBe(stateNoticeKey("task_b", 4));
  });
});
