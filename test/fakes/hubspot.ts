// A fake HubSpot CRM API for the endpoints foreman calls, with HubSpot's response shapes and status
// codes. The real @hubspot/api-client points at it through HUBSPOT_BASE_URL, and the SDK accepts only
// each method's documented status (creates 201, reads/updates/search 200, batches 200/201/207), so the
// fake answers exactly those. Every call is in `calls` (startFake's log); `writeCalls()` is the part
// that would change the portal, which a dry-run test expects to be empty.
//   tickets: get, create, PATCH by id or idProperty, batch update/create — hubspot-tickets.ts
//   GET   /crm/v3/objects/companies/{id}                                200 · 404
//   POST  /crm/v3/objects/{objectType}/search                           200 {total, results, paging}
//   PATCH /crm/v3/objects/{objectType}/{id}                             200 · 400 bad values · 404
//   POST  /crm/v3/objects/notes (with associations)                     201 · 400
//   properties and pipelines: hubspot-schema.ts. A wrong token is a 401 everywhere.
// Rate limits (hubspot-rate-limit.ts): the rolling 10-second window (default 100 requests, a private
// app's) and the daily cap apply to every authenticated /crm call except searches, which HubSpot
// limits separately and answers without rate-limit headers. `startFakeHubSpot({ rateLimit: false })`
// turns them off; `clock` puts the window on a simulated clock.

import {
  hubspotError,
  invalidPropertyValues,
  objectNotFound,
  propertyValueError,
  validationError,
} from "./hubspot-errors.ts";
import { PRIVATE_APP_LIMITS, type RateLimitOptions, rateLimiter } from "./hubspot-rate-limit.ts";
import { schemaRoutes, unknownObjectType } from "./hubspot-schema.ts";
import { matches, OPERATORS, type SearchFilter } from "./hubspot-search.ts";
import { type FakeSchema, OBJECT_TYPES, seedSchema } from "./hubspot-seed.ts";
import { type FakeTicket, ticketRoutes } from "./hubspot-tickets.ts";
import { propertyErrors } from "./hubspot-values.ts";
import { type FakeCall, type FakeServer, startFake } from "./server.ts";

export { PRIVATE_APP_LIMITS, type RateLimitOptions } from "./hubspot-rate-limit.ts";
export type { FakeTicket } from "./hubspot-tickets.ts";

export interface FakeNote {
  id: string;
  properties: Record<string, string | null>;
  associations: { toObjectType: string; toId: string; associationTypeId: number }[];
}

type Props = Record<string, string | null>;

export interface FakeHubSpot extends FakeServer, FakeSchema {
  tickets: Map<string, FakeTicket>;
  companies: Map<string, Props>;
  /** Records of the other object types (contacts, deals, …), by type then id. */
  objects: Map<string, Map<string, Props>>;
  notes: Map<string, FakeNote>;
  addTicket(t: FakeTicket): void;
  addCompany(id: string, properties: Props): void;
  addObject(objectType: string, id: string, properties: Props): void;
  /** Calls that would change the portal: every non-GET except searches. */
  writeCalls(): FakeCall[];
  /** Ticket id → every stage written to it, in order. */
  stageHistory: Map<string, string[]>;
  /** Requests answered 429 (either rate limit) so far. */
  rateLimited(): number;
  /** Changes the limits (false: none) and starts a fresh window. */
  setRateLimit(limits: RateLimitOptions | false): void;
}

export interface FakeHubSpotOptions {
  /** The limits enforced (default: a private app's, 100 per 10 s and 250,000 a day); false: none. */
  rateLimit?: RateLimitOptions | false;
  /** The clock the rate-limit window runs on, in ms (default: Date.now). */
  clock?: () => number;
}

export const FAKE_HUBSPOT_TOKEN = "pat-na1-fake-token";

// HubSpot-defined note association type ids (the SDK's AssociationTypes) → the associated type.
const NOTE_ASSOCIATIONS: Record<number, string> = {
  202: "contacts",
  190: "companies",
  214: "deals",
  228: "tickets",
};

/** HubSpot takes list parameters repeated (`?properties=a&properties=b`) or comma-separated. */
const listParam = (values: string[] | undefined) =>
  (values ?? []).flatMap((v) => v.split(",")).filter(Boolean);

export async function startFakeHubSpot(opts: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
  const tickets = new Map<string, FakeTicket>();
  const stageHistory = new Map<string, string[]>();
  const limiter = rateLimiter(opts.rateLimit ?? PRIVATE_APP_LIMITS, opts.clock ?? Date.now);
  const companies = new Map<string, Props>();
  const objects = new Map<string, Map<string, Props>>();
  const notes = new Map<string, FakeNote>();
  const iso = new Date().toISOString();
  const schema = seedSchema(iso);
  let lastId = 90_000_000;
  const nextId = () => String(++lastId);

  // One view over every type's records: tickets and companies keep their own maps (intake seeds them).
  const recordsOf = (type: string): Map<string, Props> | undefined => {
    if (type === "tickets") return new Map([...tickets].map(([id, t]) => [id, t.properties]));
    if (type === "companies") return companies;
    if (type === "notes") return new Map([...notes].map(([id, n]) => [id, n.properties]));
    if (!(OBJECT_TYPES as readonly string[]).includes(type)) return undefined;
    const map = objects.get(type) ?? new Map<string, Props>();
    objects.set(type, map);
    return map;
  };
  const view = (id: string, props: Props, wanted: string[]) => {
    const properties: Props = {
      hs_object_id: id,
      createdate: iso,
      hs_lastmodifieddate: props.hs_lastmodifieddate ?? iso,
    };
    for (const p of wanted) properties[p] = props[p] ?? null;
    return { id, properties, createdAt: iso, updatedAt: properties.hs_lastmodifieddate, archived: false };
  };

  const fake = await startFake((app) => {
    app.use("/crm/*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${FAKE_HUBSPOT_TOKEN}`) {
        return c.json(hubspotError("INVALID_AUTHENTICATION", "Authentication credentials not found."), 401);
      }
      return next();
    });
    app.use("/crm/*", async (c, next) => {
      if (c.req.path.endsWith("/search")) return next();
      const admission = limiter.admit();
      if (!admission.ok) return c.json(admission.body, 429, admission.headers);
      await next();
      for (const [name, value] of Object.entries(admission.headers)) c.res.headers.set(name, value);
    });
    ticketRoutes(app, { tickets, schema, nextId, stageHistory });
    app.get("/crm/v3/objects/companies/:id", (c) => {
      const id = c.req.param("id");
      const props = companies.get(id);
      if (!props) return c.json(objectNotFound(id), 404);
      const wanted = listParam(c.req.queries("properties"));
      const properties: Props = { hs_object_id: id };
      for (const p of wanted.length ? wanted : Object.keys(props)) properties[p] = props[p] ?? null;
      return c.json({ id, properties, createdAt: iso, updatedAt: iso, archived: false }, 200);
    });

    app.post("/crm/v3/objects/:objectType/search", async (c) => {
      const type = c.req.param("objectType");
      const records = recordsOf(type);
      if (!records) return c.json(unknownObjectType(type), 400);
      const b = (await c.req.json().catch(() => undefined)) as
        | {
            filterGroups?: { filters?: SearchFilter[] }[];
            properties?: string[];
            limit?: number;
            after?: string;
          }
        | undefined;
      if (!b) return c.json(validationError("Invalid input JSON on line 1, column 1"), 400);
      const groups = b.filterGroups ?? [];
      const limit = b.limit ?? 10;
      if (limit > 200) return c.json(validationError("limit must be at most 200"), 400);
      if (groups.length > 5 || groups.some((g) => (g.filters ?? []).length > 10)) {
        return c.json(
          validationError("Too many filters: at most 5 filter groups of at most 10 filters each"),
          400,
        );
      }
      const bad = groups.flatMap((g) => g.filters ?? []).find((f) => !OPERATORS.includes(f.operator));
      if (bad) return c.json(validationError(`Unknown operator ${String(bad.operator)}`), 400);
      const hits = [...records]
        .filter(
          ([id, props]) =>
            groups.length === 0 ||
            groups.some((g) => (g.filters ?? []).every((f) => matches({ hs_object_id: id, ...props }, f))),
        )
        .sort(([a], [b2]) => Number(a) - Number(b2) || a.localeCompare(b2));
      const start = Number(b.after ?? 0);
      const page = hits.slice(start, start + limit);
      const body: Record<string, unknown> = {
        total: hits.length,
        results: page.map(([id, props]) => view(id, props, b.properties ?? [])),
      };
      if (start + limit < hits.length) {
        const after = String(start + limit);
        body.paging = { next: { after, link: `?after=${after}` } };
      }
      return c.json(body, 200);
    });

    app.patch("/crm/v3/objects/:objectType/:id", async (c) => {
      const type = c.req.param("objectType");
      const records = recordsOf(type);
      if (!records) return c.json(unknownObjectType(type), 400);
      const id = c.req.param("id");
      const props = records.get(id);
      if (!props) return c.json(objectNotFound(id), 404);
      const b = (await c.req.json().catch(() => undefined)) as
        | { properties?: Record<string, unknown> }
        | undefined;
      if (!b?.properties || typeof b.properties !== "object") {
        return c.json(validationError("Invalid input JSON: properties is required"), 400);
      }
      const errors = propertyErrors(schema, type, b.properties, props);
      if (errors.length) return c.json(invalidPropertyValues(errors), 400);
      const at = new Date().toISOString();
      for (const [name, value] of Object.entries(b.properties)) props[name] = String(value ?? "");
      props.hs_lastmodifieddate = at;
      return c.json(view(id, props, Object.keys(b.properties)), 200);
    });

    app.post("/crm/v3/objects/notes", async (c) => {
      const b = (await c.req.json().catch(() => undefined)) as
        | {
            properties?: Record<string, string>;
            associations?: {
              to?: { id?: string };
              types?: { associationCategory?: string; associationTypeId?: number }[];
            }[];
          }
        | undefined;
      if (!b?.properties) return c.json(validationError("Invalid input JSON: properties is required"), 400);
      if (!b.properties.hs_timestamp) {
        return c.json(
          invalidPropertyValues([propertyValueError("hs_timestamp", "REQUIRED", "hs_timestamp is required")]),
          400,
        );
      }
      const associations: FakeNote["associations"] = [];
      for (const a of b.associations ?? []) {
        for (const t of a.types ?? []) {
          const toType =
            t.associationCategory === "HUBSPOT_DEFINED"
              ? NOTE_ASSOCIATIONS[t.associationTypeId ?? -1]
              : undefined;
          if (!toType)
            return c.json(
              validationError(
                `Unknown association type ${t.associationCategory}/${t.associationTypeId} for notes`,
              ),
              400,
            );
          const toId = a.to?.id ?? "";
          if (!recordsOf(toType)?.has(toId)) {
            return c.json(
              validationError(`Could not associate the note: ${toType} ${toId} does not exist`),
              400,
            );
          }
          associations.push({ toObjectType: toType, toId, associationTypeId: t.associationTypeId as number });
        }
      }
      const id = nextId();
      const at = new Date().toISOString();
      const properties: Props = {
        ...b.properties,
        hs_object_id: id,
        hs_createdate: at,
        hs_lastmodifieddate: at,
      };
      notes.set(id, { id, properties, associations });
      return c.json({ id, properties, createdAt: at, updatedAt: at, archived: false }, 201);
    });

    schemaRoutes(app, schema, nextId);
  });
  const resetCalls = fake.reset;
  return Object.assign(fake, schema, {
    reset: () => {
      resetCalls();
      limiter.reset();
    },
    tickets,
    companies,
    objects,
    notes,
    addTicket: (t: FakeTicket) => tickets.set(t.id, t),
    addCompany: (id: string, properties: Props) => companies.set(id, properties),
    addObject: (objectType: string, id: string, properties: Props) => {
      const map = recordsOf(objectType);
      if (!map || objectType === "tickets" || objectType === "notes")
        throw new Error(`addObject: use addTicket for ${objectType}`);
      map.set(id, properties);
    },
    writeCalls: () => fake.calls.filter((call) => call.method !== "GET" && !call.path.endsWith("/search")),
    stageHistory,
    rateLimited: () => limiter.refused,
    setRateLimit: (limits: RateLimitOptions | false) => {
      limiter.configure(limits);
      limiter.reset();
    },
  });
}
