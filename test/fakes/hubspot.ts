// A fake HubSpot CRM API for the endpoints foreman calls, with HubSpot's response shapes and status
// codes (objects with `properties`, `associations.<type>.results`, 404 OBJECT_NOT_FOUND bodies, 401
// for a wrong token). The real @hubspot/api-client points at it through HUBSPOT_BASE_URL. Seed it
// with `addTicket` / `addCompany`; every call is in `calls` (startFake's log).
import { randomUUID } from "node:crypto";
import { type FakeServer, startFake } from "./server.ts";

export interface FakeTicket {
  id: string;
  properties: Record<string, string | null>;
  companyIds?: string[];
}

export interface FakeHubSpot extends FakeServer {
  tickets: Map<string, FakeTicket>;
  companies: Map<string, Record<string, string | null>>;
  addTicket(t: FakeTicket): void;
  addCompany(id: string, properties: Record<string, string | null>): void;
}

export const FAKE_HUBSPOT_TOKEN = "pat-na1-fake-token";

/** HubSpot takes list parameters repeated (`?properties=a&properties=b`) or comma-separated. */
const listParam = (values: string[] | undefined) =>
  (values ?? []).flatMap((v) => v.split(",")).filter(Boolean);

const notFound = (id: string) => ({
  status: "error",
  message: "Object not found.  objectId are usually numeric.",
  correlationId: randomUUID(),
  context: { id: [id] },
  category: "OBJECT_NOT_FOUND",
});

export async function startFakeHubSpot(): Promise<FakeHubSpot> {
  const tickets = new Map<string, FakeTicket>();
  const companies = new Map<string, Record<string, string | null>>();
  const iso = new Date().toISOString();
  const fake = await startFake((app) => {
    app.use("/crm/*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${FAKE_HUBSPOT_TOKEN}`) {
        return c.json(
          {
            status: "error",
            message: "Authentication credentials not found.",
            correlationId: randomUUID(),
            category: "INVALID_AUTHENTICATION",
          },
          401,
        );
      }
      return next();
    });
    app.get("/crm/v3/objects/tickets/:id", (c) => {
      const id = c.req.param("id");
      const t = tickets.get(id);
      if (!t) return c.json(notFound(id), 404);
      const wanted = listParam(c.req.queries("properties"));
      const properties: Record<string, string | null> = {
        hs_object_id: t.id,
        createdate: iso,
        hs_lastmodifieddate: iso,
      };
      for (const p of wanted) properties[p] = t.properties[p] ?? null;
      const body: Record<string, unknown> = {
        id: t.id,
        properties,
        createdAt: iso,
        updatedAt: iso,
        archived: false,
      };
      if (listParam(c.req.queries("associations")).includes("companies") && t.companyIds?.length) {
        body.associations = {
          companies: { results: t.companyIds.map((cid) => ({ id: cid, type: "ticket_to_company" })) },
        };
      }
      return c.json(body, 200);
    });
    app.get("/crm/v3/objects/companies/:id", (c) => {
      const id = c.req.param("id");
      const props = companies.get(id);
      if (!props) return c.json(notFound(id), 404);
      const wanted = listParam(c.req.queries("properties"));
      const properties: Record<string, string | null> = { hs_object_id: id };
      for (const p of wanted.length ? wanted : Object.keys(props)) properties[p] = props[p] ?? null;
      return c.json({ id, properties, createdAt: iso, updatedAt: iso, archived: false }, 200);
    });
  });
  return Object.assign(fake, {
    tickets,
    companies,
    addTicket: (t: FakeTicket) => tickets.set(t.id, t),
    addCompany: (id: string, properties: Record<string, string | null>) => companies.set(id, properties),
  });
}
