// The fake's ticket endpoints, with HubSpot's status codes (the SDK accepts only those):
//   GET   /crm/v3/objects/tickets/{id}[?idProperty=task_id]        200 · 404
//   POST  /crm/v3/objects/tickets                                  201 · 400 · 409 unique value taken
//   PATCH /crm/v3/objects/tickets/{id}[?idProperty=task_id]        200 · 400 · 404 · 409
//   POST  /crm/v3/objects/tickets/batch/update                     200 all applied · 207 partial
//   POST  /crm/v3/objects/tickets/batch/create                     201 all created · 207 partial
// A batch holds 1–100 inputs (400 otherwise; a batch update naming one record twice is a 400). On a
// 207 the inputs that passed are applied and each failure is one error entry — OBJECT_NOT_FOUND
// grouped with `context.ids`, VALIDATION_ERROR / CONFLICT per input with its id (or the create's
// objectWriteTraceId) — with `numErrors`. Values are checked as HubSpot checks them
// (hubspot-values.ts); a unique-valued property (task_id) refuses a value another ticket holds, as
// HubSpot's "already exists. Existing ID: …" 409. Every stage a ticket is put in is kept in
// `stageHistory`, so a test can say which stages a ticket visited, in order.
import type { Hono } from "hono";
import { hubspotError, invalidPropertyValues, objectNotFound, validationError } from "./hubspot-errors.ts";
import type { FakeSchema } from "./hubspot-seed.ts";
import { propertyErrors } from "./hubspot-values.ts";
import type { FakeEnv } from "./server.ts";

type Props = Record<string, string | null>;

export interface FakeTicket {
  id: string;
  properties: Props;
  companyIds?: string[];
}

export interface TicketStore {
  tickets: Map<string, FakeTicket>;
  schema: FakeSchema;
  nextId: () => string;
  /** Ticket id → every hs_pipeline_stage value written to it, in order (seeded values excluded). */
  stageHistory: Map<string, string[]>;
}

const MAX_BATCH = 100;
const listParam = (values: string[] | undefined) =>
  (values ?? []).flatMap((v) => v.split(",")).filter(Boolean);

/** A ticket by HubSpot id, or by the value of a unique property when `idProperty` is given. */
export function findTicket(store: TicketStore, id: string, idProperty?: string): FakeTicket | undefined {
  if (!idProperty || idProperty === "hs_object_id") return store.tickets.get(id);
  for (const t of store.tickets.values()) if (t.properties[idProperty] === id) return t;
  return undefined;
}

const uniqueNames = (store: TicketStore) =>
  [...(store.schema.properties.get("tickets")?.values() ?? [])]
    .filter((p) => p.hasUniqueValue)
    .map((p) => p.name);

/** The ticket already holding a unique value this write would set, if any. */
function uniqueClash(store: TicketStore, values: Record<string, unknown>, selfId?: string) {
  for (const name of uniqueNames(store)) {
    const v = values[name];
    if (v === undefined || v === null || v === "") continue;
    for (const t of store.tickets.values()) {
      if (t.id !== selfId && t.properties[name] === String(v)) return { name, value: String(v), id: t.id };
    }
  }
  return undefined;
}
const clashError = (c: { name: string; value: string; id: string }) =>
  hubspotError("CONFLICT", `A ticket with ${c.name} ${c.value} already exists. Existing ID: ${c.id}`);

function write(store: TicketStore, t: FakeTicket, values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) t.properties[name] = String(value ?? "");
  t.properties.hs_lastmodifieddate = new Date().toISOString();
  if (values.hs_pipeline_stage !== undefined) {
    const seen = store.stageHistory.get(t.id) ?? [];
    seen.push(String(values.hs_pipeline_stage));
    store.stageHistory.set(t.id, seen);
  }
}

function view(t: FakeTicket, wanted?: string[]) {
  const at = t.properties.createdate ?? new Date().toISOString();
  const updated = t.properties.hs_lastmodifieddate ?? at;
  const properties: Props = { hs_object_id: t.id, createdate: at, hs_lastmodifieddate: updated };
  for (const p of wanted ?? Object.keys(t.properties)) properties[p] = t.properties[p] ?? null;
  return { id: t.id, properties, createdAt: at, updatedAt: updated, archived: false };
}

function create(store: TicketStore, values: Record<string, unknown>): FakeTicket {
  const id = store.nextId();
  const at = new Date().toISOString();
  const t: FakeTicket = { id, properties: { createdate: at } };
  store.tickets.set(id, t);
  write(store, t, values);
  return t;
}

type Body = Record<string, unknown>;
const readJson = async (req: { json(): Promise<unknown> }): Promise<Body | undefined> => {
  const b = await req.json().catch(() => undefined);
  return b !== null && typeof b === "object" && !Array.isArray(b) ? (b as Body) : undefined;
};
const propsOf = (b: Body | undefined): Record<string, unknown> | undefined =>
  b && b.properties !== null && typeof b.properties === "object" && !Array.isArray(b.properties)
    ? (b.properties as Record<string, unknown>)
    : undefined;

/** A create's problem, if any: HubSpot requires a subject and a stage of the ticket's pipeline. */
function createProblem(store: TicketStore, values: Record<string, unknown>) {
  const missing = ["subject", "hs_pipeline_stage"].filter((p) => !values[p]);
  if (missing.length > 0) {
    return invalidPropertyValues(
      missing.map((p) => ({
        isValid: false as const,
        message: `${p} is required`,
        error: "REQUIRED" as const,
        name: p,
        localizedErrorMessage: `${p} is required`,
      })),
    );
  }
  const errors = propertyErrors(store.schema, "tickets", values);
  return errors.length > 0 ? invalidPropertyValues(errors) : undefined;
}

const batchEnvelope = (results: unknown[], errors: unknown[], startedAt: string) => ({
  status: "COMPLETE",
  results,
  ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}),
  requestedAt: startedAt,
  startedAt,
  completedAt: new Date().toISOString(),
});
const rowError = (category: string, message: string, context: Record<string, string[]>) => ({
  status: "error",
  category,
  message,
  context,
  links: {},
  errors: [],
});
const inputsOf = (b: Body | undefined) => (Array.isArray(b?.inputs) ? (b.inputs as Body[]) : undefined);
const badBatch = (inputs: Body[] | undefined) =>
  !inputs
    ? validationError("Invalid input JSON: inputs is required")
    : inputs.length === 0 || inputs.length > MAX_BATCH
      ? validationError(`A batch holds 1 to ${MAX_BATCH} inputs (got ${inputs.length})`)
      : undefined;

export function ticketRoutes(app: Hono<FakeEnv>, store: TicketStore): void {
  app.get("/crm/v3/objects/tickets/:id", (c) => {
    const id = c.req.param("id");
    const t = findTicket(store, id, c.req.query("idProperty"));
    if (!t) return c.json(objectNotFound(id), 404);
    const body: Record<string, unknown> = view(t, listParam(c.req.queries("properties")));
    if (listParam(c.req.queries("associations")).includes("companies") && t.companyIds?.length) {
      body.associations = {
        companies: { results: t.companyIds.map((cid) => ({ id: cid, type: "ticket_to_company" })) },
      };
    }
    return c.json(body, 200);
  });

  app.post("/crm/v3/objects/tickets", async (c) => {
    const values = propsOf(await readJson(c.req));
    if (!values) return c.json(validationError("Invalid input JSON: properties is required"), 400);
    const problem = createProblem(store, values);
    if (problem) return c.json(problem, 400);
    const clash = uniqueClash(store, values);
    if (clash) return c.json(clashError(clash), 409);
    return c.json(view(create(store, values)), 201);
  });

  app.patch("/crm/v3/objects/tickets/:id", async (c) => {
    const id = c.req.param("id");
    const t = findTicket(store, id, c.req.query("idProperty"));
    if (!t) return c.json(objectNotFound(id), 404);
    const values = propsOf(await readJson(c.req));
    if (!values) return c.json(validationError("Invalid input JSON: properties is required"), 400);
    const errors = propertyErrors(store.schema, "tickets", values, t.properties);
    if (errors.length > 0) return c.json(invalidPropertyValues(errors), 400);
    const clash = uniqueClash(store, values, t.id);
    if (clash) return c.json(clashError(clash), 409);
    write(store, t, values);
    return c.json(view(t, Object.keys(values)), 200);
  });

  app.post("/crm/v3/objects/tickets/batch/update", async (c) => {
    const startedAt = new Date().toISOString();
    const inputs = inputsOf(await readJson(c.req));
    const bad = badBatch(inputs);
    if (bad || !inputs) return c.json(bad, 400);
    const ids = inputs.map((i) => String(i.id ?? ""));
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined)
      return c.json(validationError(`Duplicate IDs found in batch input: [${twice}]`), 400);
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const missing: string[] = [];
    for (const input of inputs) {
      const id = String(input.id ?? "");
      const values = propsOf(input);
      const t = findTicket(store, id, typeof input.idProperty === "string" ? input.idProperty : undefined);
      if (!t) {
        missing.push(id);
        continue;
      }
      if (!values) {
        errors.push(rowError("VALIDATION_ERROR", "properties is required", { ids: [id] }));
        continue;
      }
      const problems = propertyErrors(store.schema, "tickets", values, t.properties);
      if (problems.length > 0) {
        const e = invalidPropertyValues(problems);
        errors.push(rowError("VALIDATION_ERROR", e.message, { ids: [id] }));
        continue;
      }
      const clash = uniqueClash(store, values, t.id);
      if (clash) {
        errors.push(rowError("CONFLICT", clashError(clash).message, { ids: [id] }));
        continue;
      }
      write(store, t, values);
      results.push(view(t, Object.keys(values)));
    }
    if (missing.length > 0) {
      errors.unshift(
        rowError(
          "OBJECT_NOT_FOUND",
          "Could not get some TICKET objects, they may be deleted or not exist. Check that ids are valid.",
          { ids: missing },
        ),
      );
    }
    return c.json(batchEnvelope(results, errors, startedAt), errors.length > 0 ? 207 : 200);
  });

  app.post("/crm/v3/objects/tickets/batch/create", async (c) => {
    const startedAt = new Date().toISOString();
    const inputs = inputsOf(await readJson(c.req));
    const bad = badBatch(inputs);
    if (bad || !inputs) return c.json(bad, 400);
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const input of inputs) {
      const values = propsOf(input) ?? {};
      const trace = typeof input.objectWriteTraceId === "string" ? input.objectWriteTraceId : undefined;
      const context: Record<string, string[]> = trace ? { objectWriteTraceId: [trace] } : {};
      const problem = createProblem(store, values);
      if (problem) {
        errors.push(rowError("VALIDATION_ERROR", problem.message, context));
        continue;
      }
      const clash = uniqueClash(store, values);
      if (clash) {
        errors.push(rowError("CONFLICT", clashError(clash).message, context));
        continue;
      }
      results.push(view(create(store, values)));
    }
    return c.json(batchEnvelope(results, errors, startedAt), errors.length > 0 ? 207 : 201);
  });
}
