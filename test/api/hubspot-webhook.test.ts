// POST /webhooks/hubspot through the whole app on the test database (PGlite, or PostgreSQL with
// TEST_DATABASE_URL): signed batches in both formats become tasks in `intake` synchronously (one per
// ticket, however often it is delivered), stage changes become outbox rows with composite-key ids,
// the rest is acknowledged and ignored; bad signatures and bad bodies are refused with nothing
// recorded; only a batch the database could not take answers 5xx.
import { eq, sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { crmLinks, workers } from "../../db/schema/index.ts";
import type { AppDb } from "../../db/types.ts";
import { SIGNATURE_HEADER, signatureV3, signedUri, TIMESTAMP_HEADER } from "../../lib/hubspot/signature.ts";
import { onPostgres, useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { insertTask } from "../fixtures.ts";

const t = useTestDb();
const SECRET = "hubspot-app-secret-for-tests";
const PORTAL = 62515;
const URL_PATH = "/webhooks/hubspot";
type Json = Record<string, any>;

let seq = 0;
/** A ticket id above 2^32 no other test uses. */
const ticketId = () => String(2 ** 33 + Date.now() * 10 + ++seq);

function event(over: Record<string, unknown>): Record<string, unknown> {
  return {
    eventId: 1000 + ++seq,
    subscriptionId: 2456789,
    portalId: PORTAL,
    appId: 1234567,
    occurredAt: 1_760_000_000_000 + seq,
    subscriptionType: "ticket.creation",
    attemptNumber: 0,
    changeSource: "CRM_UI",
    ...over,
  };
}

/** Serialises events, writing `objectId` values given as strings as bare JSON numbers (HubSpot's form). */
const asHubSpotJson = (events: Record<string, unknown>[]): string =>
  JSON.stringify(events).replace(/"objectId":"(\d+)"/g, '"objectId":$1');

interface Delivery {
  body: string;
  /** What the signature covers, when it should differ from what is sent. */
  signBody?: string;
  signUrl?: string;
  url?: string;
  timestamp?: number;
  secret?: string;
  headers?: Record<string, string | null>;
}

function setup(env: Record<string, string> = {}) {
  const api = testApp(t.current.db, { HUBSPOT_APP_SECRET: SECRET, ...env });
  const deliver = (d: Delivery) => {
    const url = d.url ?? URL_PATH;
    const ts = String(d.timestamp ?? Date.now());
    const full = `http://localhost${url}`;
    const headers = new Headers({ "content-type": "application/json" });
    headers.set(
      SIGNATURE_HEADER,
      signatureV3(
        d.secret ?? SECRET,
        "POST",
        signedUri(d.signUrl ?? full, env.FOREMAN_PUBLIC_URL),
        d.signBody ?? d.body,
        ts,
      ),
    );
    headers.set(TIMESTAMP_HEADER, ts);
    for (const [k, v] of Object.entries(d.headers ?? {})) {
      if (v === null) headers.delete(k);
      else headers.set(k, v);
    }
    return api.request(url, { method: "POST", body: d.body, headers, token: null });
  };
  const send = async (events: Record<string, unknown>[]) => {
    const res = await deliver({ body: asHubSpotJson(events) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  return { ...api, deliver, send };
}

const rowsOf = <T>(r: unknown): T[] => (r as { rows: T[] }).rows;
async function counts(db: AppDb) {
  const r = await db.execute(
    sql`select (select count(*) from tasks)::int as tasks, (select count(*) from outbox)::int as outbox,
               (select count(*) from task_events)::int as events`,
  );
  return rowsOf<{ tasks: number; outbox: number; events: number }>(r)[0];
}
async function tasksFor(db: AppDb, refs: string[]) {
  const r = await db.execute(
    sql`select id, source, source_ref, status, title from tasks
         where source = 'hubspot' and source_ref in (select jsonb_array_elements_text(${JSON.stringify(refs)}::jsonb))
         order by source_ref`,
  );
  return rowsOf<{ id: string; source: string; source_ref: string; status: string; title: string }>(r);
}
async function outboxRows(db: AppDb, like: string) {
  const r = await db.execute(
    sql`select id, event_id, name, data from outbox where event_id like ${like} order by id`,
  );
  return rowsOf<{ id: number; event_id: string; name: string; data: Json | string }>(r).map((row) => ({
    ...row,
    data: typeof row.data === "string" ? (JSON.parse(row.data) as Json) : row.data,
  }));
}

describe("ticket creation", () => {
  it("classic ticket.creation with ids above 2^32 and 2^53 → tasks in intake, source_ref the exact digits", async () => {
    const api = setup();
    const ids = [ticketId(), "18446744073709551615", "9007199254740993"];
    const res = await api.send(ids.map((objectId) => event({ objectId })));
    expect(res).toEqual({ status: 200, body: { created: 3, duplicates: 0, stage_changes: 0, ignored: 0 } });
    const rows = await tasksFor(api.deps.db, ids);
    expect(rows.map((r) => r.source_ref).sort()).toEqual([...ids].sort());
    for (const row of rows) {
      expect(row.status).toBe("intake");
      expect(row.title).toBe(`HubSpot ticket ${row.source_ref}`);
    }
    // Each new task owes `task/submitted` (which starts intake), sent with its deterministic id.
    const sent = api.events.sent.filter((e) => e.name === "task/submitted");
    expect(sent.map((e) => e.id).sort()).toEqual(rows.map((r) => `task-submitted:${r.id}`).sort());
    expect(api.events.sent.some((e) => e.name === "hubspot/ticket.created")).toBe(false);
    // The API lists them like any task.
    const list = (await (await api.request("/api/tasks?state=intake&limit=100")).json()) as Json;
    const listed = list.tasks.filter((x: Json) => ids.includes(x.source_ref));
    expect(listed).toHaveLength(3);
    expect(listed.every((x: Json) => x.source === "hubspot")).toBe(true);
  });

  it("generic object.creation with objectTypeId 0-5 (and eventType as the type field) → tasks", async () => {
    const api = setup();
    const a = ticketId();
    const b = ticketId();
    const res = await api.send([
      event({ subscriptionType: "object.creation", objectTypeId: "0-5", objectId: a }),
      { ...event({ objectId: b }), subscriptionType: undefined, eventType: "ticket.creation" },
      event({ subscriptionType: "object.creation", objectTypeId: "0-1", objectId: ticketId() }),
    ]);
    expect(res.body).toEqual({ created: 2, duplicates: 0, stage_changes: 0, ignored: 1 });
    expect((await tasksFor(api.deps.db, [a, b])).map((r) => r.status)).toEqual(["intake", "intake"]);
  });

  it("duplicates in one batch and across batches (and across formats) → one task", async () => {
    const api = setup();
    const id = ticketId();
    const first = await api.send([
      event({ objectId: id }),
      event({ objectId: id }), // HubSpot re-sent it with another eventId
      event({ subscriptionType: "object.creation", objectTypeId: "0-5", objectId: id }),
    ]);
    expect(first.body).toEqual({ created: 1, duplicates: 2, stage_changes: 0, ignored: 0 });
    const again = await api.send([event({ objectId: id, attemptNumber: 1 })]);
    expect(again.body).toEqual({ created: 0, duplicates: 1, stage_changes: 0, ignored: 0 });
    expect(await tasksFor(api.deps.db, [id])).toHaveLength(1);
    // The replay owes nothing new.
    const submitted = api.events.sent.filter((e) => e.name === "task/submitted");
    expect(submitted).toHaveLength(1);
  });

  it("the creation of a ticket foreman made for its own task is that task's: no second task", async () => {
    const api = setup();
    const db = api.deps.db;
    const own = await insertTask(db, { status: "working" });
    const ticket = ticketId();
    await db.insert(crmLinks).values({ taskId: own.id, ticketId: ticket, pipelineId: "foreman" });
    const fresh = ticketId();
    const res = await api.send([event({ objectId: ticket }), event({ objectId: fresh })]);
    expect(res.body).toEqual({ created: 1, duplicates: 1, stage_changes: 0, ignored: 0 });
    expect(await tasksFor(db, [ticket])).toEqual([]);
    expect((await tasksFor(db, [fresh])).map((r) => r.status)).toEqual(["intake"]);
    expect(api.events.sent.filter((e) => e.name === "task/submitted")).toHaveLength(1);
  });

  it("a creation whose subject is nothing readable keeps the placeholder title; the batch is recorded", async () => {
    const api = setup();
    const [blank, ok] = [ticketId(), ticketId()];
    const res = await api.send([
      event({ objectId: blank, propertyName: "subject", propertyValue: "\u0007\u0000 " }),
      event({ objectId: ok, propertyName: "subject", propertyValue: "Printer\u0000 on fire" }),
    ]);
    expect(res).toEqual({ status: 200, body: { created: 2, duplicates: 0, stage_changes: 0, ignored: 0 } });
    const rows = await tasksFor(api.deps.db, [blank, ok]);
    expect(Object.fromEntries(rows.map((r) => [r.source_ref, r.title]))).toEqual({
      [blank]: `HubSpot ticket ${blank}`,
      [ok]: "Printer on fire",
    });
  });

  it("a retired default worker never turns a batch away: triage picks the worker", async () => {
    const api = setup();
    const db = api.deps.db;
    await db.update(workers).set({ active: false }).where(eq(workers.id, "crm-setup"));
    try {
      const id = ticketId();
      const res = await api.send([event({ objectId: id })]);
      expect(res).toEqual({ status: 200, body: { created: 1, duplicates: 0, stage_changes: 0, ignored: 0 } });
      expect(await tasksFor(db, [id])).toHaveLength(1);
    } finally {
      await db.update(workers).set({ active: true }).where(eq(workers.id, "crm-setup"));
    }
  });

  it("the same body delivered twice is acknowledged twice and recorded once", async () => {
    const api = setup();
    const id = ticketId();
    const body = asHubSpotJson([event({ objectId: id })]);
    const before = await counts(api.deps.db);
    expect((await api.deliver({ body })).status).toBe(200);
    const second = await api.deliver({ body });
    expect(await second.json()).toEqual({ created: 0, duplicates: 1, stage_changes: 0, ignored: 0 });
    const after = await counts(api.deps.db);
    expect(after?.tasks).toBe((before?.tasks ?? 0) + 1);
    expect(after?.outbox).toBe((before?.outbox ?? 0) + 1);
  });

  it("only the configured portal's events are recorded", async () => {
    const api = setup({ HUBSPOT_PORTAL_ID: String(PORTAL) });
    const ours = ticketId();
    const theirs = ticketId();
    const res = await api.send([event({ objectId: ours }), event({ objectId: theirs, portalId: 999 })]);
    expect(res.body).toEqual({ created: 1, duplicates: 0, stage_changes: 0, ignored: 1 });
    expect((await tasksFor(api.deps.db, [ours, theirs])).map((r) => r.source_ref)).toEqual([ours]);
  });
});

describe("stage changes", () => {
  const stage = (objectId: string, stageId: string, over: Record<string, unknown> = {}) =>
    event({
      subscriptionType: "ticket.propertyChange",
      objectId,
      propertyName: "hs_pipeline_stage",
      propertyValue: stageId,
      ...over,
    });

  it("become outbox rows with composite-key ids, sent, deduplicated on re-delivery, in occurredAt order", async () => {
    const api = setup();
    const id = ticketId();
    const early = stage(id, "1", { eventId: 77, occurredAt: 1_760_000_000_100 });
    const late = stage(id, "4", {
      subscriptionType: "object.propertyChange",
      objectTypeId: "0-5",
      eventId: 78,
      occurredAt: 1_760_000_000_200,
      sourceId: "userId:1234567",
    });
    // Same eventId as `early` but another occurrence: eventId alone is not unique.
    const sameEventId = stage(id, "2", { eventId: 77, occurredAt: 1_760_000_000_150 });
    const res = await api.send([late, sameEventId, early]);
    expect(res.body).toEqual({ created: 0, duplicates: 0, stage_changes: 3, ignored: 0 });

    const rows = await outboxRows(api.deps.db, `hubspot:${PORTAL}:%:${id}:%`);
    expect(rows.map((r) => r.event_id)).toEqual([
      `hubspot:${PORTAL}:2456789:${id}:77:1760000000100:hs_pipeline_stage`,
      `hubspot:${PORTAL}:2456789:${id}:77:1760000000150:hs_pipeline_stage`,
      `hubspot:${PORTAL}:2456789:${id}:78:1760000000200:hs_pipeline_stage`,
    ]);
    expect(rows.map((r) => r.name)).toEqual(Array(3).fill("hubspot/ticket.stage_changed"));
    expect(rows[2]?.data).toEqual({
      ticketId: id,
      portalId: PORTAL,
      stageId: "4",
      occurredAt: 1_760_000_000_200,
      // Who moved it travels with the change (crm-inbound's client-owner check).
      sourceId: "userId:1234567",
      changeSource: "CRM_UI",
    });
    const sentIds = api.events.sent.filter((e) => e.name === "hubspot/ticket.stage_changed").map((e) => e.id);
    expect(sentIds).toEqual(rows.map((r) => r.event_id));

    // Re-delivered (also repeated inside the batch): no new rows.
    const again = await api.send([early, early, late]);
    expect(again.body).toEqual({ created: 0, duplicates: 1, stage_changes: 2, ignored: 0 });
    expect(await outboxRows(api.deps.db, `hubspot:${PORTAL}:%:${id}:%`)).toHaveLength(3);
  });

  it("creations and stage changes of one batch are recorded together", async () => {
    const api = setup();
    const id = ticketId();
    const res = await api.send([stage(id, "2"), event({ objectId: id })]);
    expect(res.body).toEqual({ created: 1, duplicates: 0, stage_changes: 1, ignored: 0 });
    expect(await tasksFor(api.deps.db, [id])).toHaveLength(1);
    expect(await outboxRows(api.deps.db, `hubspot:${PORTAL}:%:${id}:%`)).toHaveLength(1);
  });

  it("other properties, object types and subscription types are acknowledged and ignored", async () => {
    const api = setup();
    const id = ticketId();
    const before = await counts(api.deps.db);
    const res = await api.send([
      stage(id, "Printer on fire", { propertyName: "subject" }),
      stage(id, "3", { subscriptionType: "object.propertyChange", objectTypeId: "0-3" }), // a deal
      stage(id, ""),
      event({ subscriptionType: "contact.creation", objectId: id }),
      event({ subscriptionType: "ticket.deletion", objectId: id }),
      event({ subscriptionType: "ticket.associationChange", objectId: id }),
      event({ subscriptionType: "deal.creation", objectId: id }),
      event({ subscriptionType: undefined }),
      event({ objectId: "not-a-number" }),
    ]);
    expect(res).toEqual({ status: 200, body: { created: 0, duplicates: 0, stage_changes: 0, ignored: 9 } });
    expect(await counts(api.deps.db)).toEqual(before);
  });
});

describe("refused deliveries record nothing", () => {
  let api: ReturnType<typeof setup>;
  let body: string;
  beforeEach(() => {
    api = setup();
    body = asHubSpotJson([event({ objectId: ticketId() })]);
  });
  const refused = async (d: Delivery, status: number, match: RegExp) => {
    const before = await counts(t.current.db);
    const res = await api.deliver(d);
    const json = (await res.json()) as Json;
    expect(res.status).toBe(status);
    expect(json.error.message).toMatch(match);
    expect(await counts(t.current.db)).toEqual(before);
    return json;
  };

  it("unsigned, header-less, forged, stale, future-dated → 401", async () => {
    const noHeaders = await refused(
      { body, headers: { [SIGNATURE_HEADER]: null, [TIMESTAMP_HEADER]: null } },
      401,
      /not signed/,
    );
    expect(noHeaders.error).toMatchObject({ code: "UNAUTHORIZED", details: { problem: "missing_headers" } });
    await refused({ body, headers: { [SIGNATURE_HEADER]: null } }, 401, /X-HubSpot-Signature-v3 missing/);
    await refused({ body, secret: "someone-else" }, 401, /does not match/);
    await refused({ body, timestamp: Date.now() - 6 * 60_000 }, 401, /old/);
    await refused({ body, timestamp: Date.now() + 5 * 60_000 }, 401, /future/);
    await refused({ body, headers: { [TIMESTAMP_HEADER]: "yesterday" } }, 401, /milliseconds/);
  });

  it("tampered body, URL, query order or a re-encoded escape → 401", async () => {
    await refused(
      { body: body.replace('"attemptNumber":0', '"attemptNumber":1'), signBody: body },
      401,
      /match/,
    );
    await refused({ body: `${body}\n`, signBody: body }, 401, /match/);
    await refused(
      { body, url: "/webhooks/hubspot?a=1", signUrl: "http://localhost/webhooks/hubspot" },
      401,
      /match/,
    );
    await refused(
      { body, url: "/webhooks/hubspot?b=2&a=1", signUrl: "http://localhost/webhooks/hubspot?a=1&b=2" },
      401,
      /match/,
    );
    await refused(
      { body, url: "/webhooks/hubspot?next=%252F", signUrl: "http://localhost/webhooks/hubspot?next=%2F" },
      401,
      /match/,
    );
    await refused({ body, signUrl: "https://foreman.example.com/webhooks/hubspot" }, 401, /match/);
  });

  it("a query with HubSpot-decoded escapes is accepted when signed in HubSpot's decoded form", async () => {
    const res = await api.deliver({
      body,
      url: "/webhooks/hubspot?next=%2Fboard%3Fx%3D1",
      signUrl: "http://localhost/webhooks/hubspot?next=/board?x%3D1",
    });
    expect(res.status).toBe(200);
  });

  it("malformed JSON, a non-array, an empty or oversized batch → 400", async () => {
    await refused({ body: "[{" }, 400, /not valid JSON/);
    await refused({ body: '{"eventId":1}' }, 400, /must be a JSON array/);
    await refused({ body: "[]" }, 400, /1 to 100 events \(got 0\)/);
    await refused({ body: asHubSpotJson(Array.from({ length: 101 }, () => event({}))) }, 400, /got 101/);
    await refused({ body: '[{"eventId":1}, 7]' }, 400, /Event 1 is not a JSON object/);
  });

  it("a body over the limit → 413, with or without Content-Length", async () => {
    const big = asHubSpotJson([event({ objectId: ticketId(), propertyValue: "x".repeat(70_000) })]);
    await refused({ body: big }, 413, /exceeds the limit of 65536 bytes/);
    const before = await counts(api.deps.db);
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const ts = String(Date.now());
    const res = await api.request(URL_PATH, {
      method: "POST",
      body: stream,
      duplex: "half",
      token: null,
      headers: {
        [SIGNATURE_HEADER]: signatureV3(SECRET, "POST", "http://localhost/webhooks/hubspot", big, ts),
        [TIMESTAMP_HEADER]: ts,
      },
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await counts(api.deps.db)).toEqual(before);
  });

  it("HUBSPOT_APP_SECRET not configured → 503 naming the variable", async () => {
    const bare = testApp(t.current.db);
    const res = await bare.request(URL_PATH, { method: "POST", body, token: null });
    expect(res.status).toBe(503);
    const json = (await res.json()) as Json;
    expect(json.error).toMatchObject({ code: "UNAVAILABLE", field: "HUBSPOT_APP_SECRET" });
  });

  it("the database cannot take the batch → 503, so HubSpot re-delivers", async () => {
    const db = api.deps.db;
    api.deps.db = new Proxy(db, {
      get: (target, key) =>
        key === "execute" ? () => Promise.reject(new Error("connection refused")) : Reflect.get(target, key),
    });
    try {
      await refused({ body }, 503, /could not be recorded/);
    } finally {
      api.deps.db = db;
    }
    expect((await api.deliver({ body })).status).toBe(200);
  });
});

describe("behind a proxy (FOREMAN_PUBLIC_URL)", () => {
  it("verifies against the public URL, not the one the app saw", async () => {
    const api = setup({ FOREMAN_PUBLIC_URL: "https://foreman.example.com" });
    const body = asHubSpotJson([event({ objectId: ticketId() })]);
    const ok = await api.deliver({ body, signUrl: "https://foreman.example.com/webhooks/hubspot" });
    expect(ok.status).toBe(200);
    const ts = String(Date.now());
    const res = await api.request(URL_PATH, {
      method: "POST",
      body,
      token: null,
      headers: {
        [SIGNATURE_HEADER]: signatureV3(SECRET, "POST", "http://localhost/webhooks/hubspot", body, ts),
        [TIMESTAMP_HEADER]: ts,
      },
    });
    expect(res.status).toBe(401);
  });
});

describe.runIf(onPostgres)("1,000 concurrent duplicate deliveries (real Postgres)", () => {
  it("→ one task, every delivery acknowledged", async () => {
    const api = setup();
    const id = ticketId();
    const bodies = Array.from({ length: 1000 }, (_, i) =>
      asHubSpotJson([event({ objectId: id, eventId: 500_000 + i, attemptNumber: i % 10 })]),
    );
    const results = await Promise.all(bodies.map(async (body) => (await api.deliver({ body })).json()));
    const sum = (k: string) => results.reduce((n, r) => n + ((r as Json)[k] ?? 0), 0);
    expect(sum("created")).toBe(1);
    expect(sum("duplicates")).toBe(999);
    const rows = await tasksFor(api.deps.db, [id]);
    expect(rows).toHaveLength(1);
    const submitted = await outboxRows(api.deps.db, `task-submitted:${rows[0]?.id}`);
    expect(submitted).toHaveLength(1);
  }, 120_000);
});
