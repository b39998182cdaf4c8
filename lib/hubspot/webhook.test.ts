// Parsing and classifying webhook batches, without HTTP or a database.
import { describe, expect, it } from "vitest";
import { classifyBatch, parseWebhookBody, WebhookBodyError } from "./webhook.ts";

describe("parseWebhookBody", () => {
  it("keeps ids as their exact digits, below and above 2^53", () => {
    const small = parseWebhookBody('[{"objectId":8589934593,"eventId":7,"portalId":62515}]');
    expect(small[0]).toMatchObject({ objectId: "8589934593", eventId: "7", portalId: "62515" });
    const big = parseWebhookBody(
      '[{"objectId":18446744073709551615,"eventId":9007199254740993,"occurredAt":1760000000000},{"objectId":5}]',
    );
    expect(big[0]).toMatchObject({ objectId: "18446744073709551615", eventId: "9007199254740993" });
    expect(big[0]?.occurredAt).toBe(1_760_000_000_000);
    expect(big[1]?.objectId).toBe("5");
    // Ids sent as strings stay strings.
    expect(parseWebhookBody('[{"objectId":"123"}]')[0]?.objectId).toBe("123");
  });

  it("refuses what is not a 1–100 event array", () => {
    for (const [body, message] of [
      ["nope", /not valid JSON/],
      ['{"a":1}', /JSON array/],
      ["[]", /got 0/],
      [`[${Array(101).fill("{}").join(",")}]`, /got 101/],
      ["[null]", /Event 0 is not a JSON object/],
      ["[{}, []]", /Event 1 is not a JSON object/],
    ] as const) {
      expect(() => parseWebhookBody(body)).toThrow(WebhookBodyError);
      expect(() => parseWebhookBody(body)).toThrow(message);
    }
  });
});

describe("classifyBatch", () => {
  const base = { subscriptionId: "9", portalId: "62515", eventId: "1", objectId: "4294967297" };

  it("sorts by occurredAt, collapses repeats, and builds composite-key ids", () => {
    const out = classifyBatch([
      {
        ...base,
        subscriptionType: "ticket.propertyChange",
        propertyName: "hs_pipeline_stage",
        propertyValue: "3",
        occurredAt: 30,
      },
      { ...base, subscriptionType: "ticket.creation", objectId: "8589934593", occurredAt: 20 },
      { ...base, subscriptionType: "ticket.creation", occurredAt: 10 },
      { ...base, subscriptionType: "ticket.creation", occurredAt: 11, eventId: "2" },
      {
        ...base,
        subscriptionType: "ticket.propertyChange",
        propertyName: "hs_pipeline_stage",
        propertyValue: "3",
        occurredAt: 30,
      },
    ]);
    expect(out.items.map((i) => i.sourceRef)).toEqual(["4294967297", "8589934593"]);
    expect(out.items[0]).toMatchObject({
      source: "hubspot",
      input: { title: "HubSpot ticket 4294967297" },
      clean: true,
    });
    expect(out.stageChanges).toEqual([
      {
        eventId: "hubspot:62515:9:4294967297:1:30:hs_pipeline_stage",
        name: "hubspot/ticket.stage_changed",
        data: { ticketId: "4294967297", portalId: 62515, stageId: "3", occurredAt: 30 },
      },
    ]);
    expect(out.repeated).toBe(2);
    expect(out.ignored).toEqual([]);
  });

  it("says why each ignored event was ignored", () => {
    const out = classifyBatch(
      [
        { ...base, subscriptionType: "contact.creation", occurredAt: 1 },
        { ...base, subscriptionType: "object.creation", objectTypeId: "0-1", occurredAt: 2 },
        { ...base, subscriptionType: "ticket.deletion", occurredAt: 3 },
        { ...base, subscriptionType: "ticket.propertyChange", propertyName: "subject", occurredAt: 4 },
        { ...base, subscriptionType: "ticket.creation", portalId: "1", occurredAt: 5 },
        { ...base, subscriptionType: "ticket.creation", objectId: 1.5, occurredAt: 6 },
        { ...base, occurredAt: 7 },
      ],
      { portalId: 62515 },
    );
    expect(out.ignored.map((i) => i.reason)).toEqual([
      "subscription type contact.creation is not about tickets",
      'object type "0-1" is not a ticket (0-5)',
      "subscription type ticket.deletion is not handled",
      "property subject is not watched (only hs_pipeline_stage)",
      "portal 1 is not HUBSPOT_PORTAL_ID (62515)",
      "invalid event: objectId Invalid input: expected string, received number",
      "no subscriptionType (or eventType)",
    ]);
    expect(out.items).toEqual([]);
  });

  it("carries who moved a ticket (sourceId, changeSource), and drops a mover of another shape, not the event", () => {
    const move = {
      ...base,
      subscriptionType: "ticket.propertyChange",
      propertyName: "hs_pipeline_stage",
      propertyValue: "3",
    };
    const out = classifyBatch([
      { ...move, occurredAt: 1, sourceId: "userId:1234567", changeSource: "CRM_UI" },
      { ...move, occurredAt: 2, sourceId: 1234567, changeSource: "" },
    ]);
    expect(out.stageChanges.map((c) => c.data)).toEqual([
      {
        ticketId: "4294967297",
        portalId: 62515,
        stageId: "3",
        occurredAt: 1,
        sourceId: "userId:1234567",
        changeSource: "CRM_UI",
      },
      { ticketId: "4294967297", portalId: 62515, stageId: "3", occurredAt: 2 },
    ]);
    expect(out.ignored).toEqual([]);
  });
});
