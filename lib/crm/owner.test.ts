// Who moved a ticket, as HubSpot names them: only `userId:<digits>` is a person; anything else (a
// workflow, an import, an integration) names no user and can never be the client owner.
import { describe, expect, it } from "vitest";
import { hubspotUserOf, moverLabel } from "./owner.ts";

describe("hubspotUserOf", () => {
  it("reads the user id of a person's move, and nothing else", () => {
    expect(hubspotUserOf("userId:1234567")).toBe("1234567");
    expect(hubspotUserOf(" userId:42 ")).toBe("42");
    for (const other of [
      undefined,
      "",
      "userId:",
      "userId:abc",
      "enrollmentId:99",
      "1234567",
      "userId:1 OR 1",
    ])
      expect(hubspotUserOf(other), String(other)).toBeUndefined();
  });
});

describe("moverLabel", () => {
  it("names the user, else what HubSpot says moved the ticket, else nothing", () => {
    expect(moverLabel({ sourceId: "userId:7", changeSource: "CRM_UI" })).toBe("HubSpot user 7");
    expect(moverLabel({ changeSource: "AUTOMATION_PLATFORM", sourceId: "enrollmentId:9" })).toBe(
      "AUTOMATION_PLATFORM enrollmentId:9 (no HubSpot user)",
    );
    expect(moverLabel({})).toBeUndefined();
  });
});
