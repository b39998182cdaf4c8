// The routes that read and extend the fake portal's schema (seeded in hubspot-seed.ts):
//   GET  /crm/v3/properties/{objectType}                        200 {results}
//   GET  /crm/v3/properties/{objectType}/groups                 200 {results}
//   POST /crm/v3/properties/{objectType}/groups                 201 PropertyGroup · 400 · 409 duplicate name
//   GET  /crm/v3/properties/{objectType}/{propertyName}         200 Property · 404
//   POST /crm/v3/properties/{objectType}                        201 Property · 400 · 409 duplicate name
//   GET  /crm/v3/pipelines/{objectType}                         200 {results}
//   POST /crm/v3/pipelines/{objectType}                         201 Pipeline (with stages) · 400 · 409 duplicate label
//   POST /crm/v3/pipelines/{objectType}/{pipelineId}/stages     201 PipelineStage · 400 · 404
// Status codes are the ones the SDK accepts (creates 201, reads 200); anything else makes it throw.
import type { Hono } from "hono";
import { hubspotError, validationError } from "./hubspot-errors.ts";
import {
  type FakePipeline,
  type FakeProperty,
  type FakeSchema,
  type FakeStage,
  stage,
} from "./hubspot-seed.ts";
import type { FakeEnv } from "./server.ts";

const PROPERTY_TYPES = ["string", "number", "date", "datetime", "enumeration", "bool"];
// Which field types each data type may be edited with.
const FIELD_TYPES: Record<string, string[]> = {
  string: ["text", "textarea", "file", "html", "phonenumber"],
  number: ["number", "calculation_equation"],
  date: ["date"],
  datetime: ["date"],
  enumeration: ["select", "radio", "checkbox", "booleancheckbox", "calculation_equation"],
  bool: ["booleancheckbox", "calculation_equation"],
};

export const unknownObjectType = (type: string) =>
  validationError(`Unable to infer object type from: ${type}`);

type Body = Record<string, unknown>;
const readBody = async (req: { json(): Promise<unknown> }): Promise<Body | undefined> => {
  try {
    const body = await req.json();
    return body !== null && typeof body === "object" ? (body as Body) : undefined;
  } catch {
    return undefined;
  }
};
const badJson = () =>
  validationError("Invalid input JSON on line 1, column 1: Cannot parse the request body");

function propertyProblem(schema: FakeSchema, type: string, b: Body): string | undefined {
  for (const key of ["name", "label", "type", "fieldType", "groupName"]) {
    if (typeof b[key] !== "string" || b[key] === "") return `${key} is required`;
  }
  const {
    name,
    type: t,
    fieldType,
    groupName,
  } = b as {
    name: string;
    type: string;
    fieldType: string;
    groupName: string;
  };
  if (!/^[a-z][a-z0-9_]*$/.test(name))
    return `Property name '${name}' is not valid: use lowercase letters, digits and _`;
  if (!PROPERTY_TYPES.includes(t)) return `type '${t}' is not one of ${PROPERTY_TYPES.join(", ")}`;
  if (!FIELD_TYPES[t]?.includes(fieldType))
    return `fieldType '${fieldType}' is not valid for a property of type '${t}'`;
  if (!schema.groups.get(type)?.has(groupName)) return `Property group '${groupName}' does not exist`;
  return undefined;
}

/** A stage input's problem for this object type (HubSpot's rules for ticket and deal stages), if any. */
function stageProblem(type: string, b: Body): string | undefined {
  if (typeof b.label !== "string" || b.label === "") return "label is required";
  if (typeof b.displayOrder !== "number") return "displayOrder is required";
  const metadata = (b.metadata ?? {}) as Record<string, string>;
  if (type === "tickets" && !["OPEN", "CLOSED"].includes(metadata.ticketState ?? "")) {
    return "Ticket stages require metadata.ticketState OPEN or CLOSED";
  }
  const probability = Number(metadata.probability);
  if (type === "deals" && !(metadata.probability !== undefined && probability >= 0 && probability <= 1)) {
    return "Deal stages require metadata.probability between 0.0 and 1.0";
  }
  return undefined;
}

/** The stage HubSpot stores for a valid input: a generated id, and `isClosed` derived from the metadata. */
function makeStage(type: string, b: Body, id: string, at: string): FakeStage {
  const metadata = (b.metadata ?? {}) as Record<string, string>;
  const probability = Number(metadata.probability);
  const isClosed =
    type === "tickets"
      ? String(metadata.ticketState === "CLOSED")
      : (metadata.isClosed ?? String(probability === 0 || probability === 1));
  return stage(id, b.label as string, b.displayOrder as number, { ...metadata, isClosed }, at);
}

export function schemaRoutes(app: Hono<FakeEnv>, schema: FakeSchema, nextId: () => string): void {
  const now = () => new Date().toISOString();

  // Registered before /:objectType/:propertyName, which would otherwise take "groups" for a name.
  app.get("/crm/v3/properties/:objectType/groups", (c) => {
    const groups = schema.groups.get(c.req.param("objectType"));
    if (!groups) return c.json(unknownObjectType(c.req.param("objectType")), 400);
    return c.json({ results: [...groups.values()].filter((g) => !g.archived) }, 200);
  });

  app.post("/crm/v3/properties/:objectType/groups", async (c) => {
    const type = c.req.param("objectType");
    const groups = schema.groups.get(type);
    if (!groups) return c.json(unknownObjectType(type), 400);
    const b = await readBody(c.req);
    if (!b) return c.json(badJson(), 400);
    for (const key of ["name", "label"]) {
      if (typeof b[key] !== "string" || b[key] === "")
        return c.json(validationError(`${key} is required`), 400);
    }
    const name = b.name as string;
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      return c.json(
        validationError(`Property group name '${name}' is not valid: use lowercase letters, digits and _`),
        400,
      );
    }
    if (groups.has(name)) {
      return c.json(
        hubspotError("OBJECT_ALREADY_EXISTS", `Property group named '${name}' already exists.`),
        409,
      );
    }
    const created = {
      name,
      label: b.label as string,
      displayOrder: typeof b.displayOrder === "number" ? b.displayOrder : -1,
      archived: false,
    };
    groups.set(name, created);
    return c.json(created, 201);
  });

  app.get("/crm/v3/properties/:objectType/:propertyName", (c) => {
    const type = c.req.param("objectType");
    const defs = schema.properties.get(type);
    if (!defs) return c.json(unknownObjectType(type), 400);
    const def = defs.get(c.req.param("propertyName"));
    if (!def || def.archived) {
      return c.json(
        hubspotError(
          "OBJECT_NOT_FOUND",
          `Unable to find property ${c.req.param("propertyName")} for ${type}`,
        ),
        404,
      );
    }
    return c.json(def, 200);
  });

  app.get("/crm/v3/properties/:objectType", (c) => {
    const defs = schema.properties.get(c.req.param("objectType"));
    if (!defs) return c.json(unknownObjectType(c.req.param("objectType")), 400);
    return c.json({ results: [...defs.values()].filter((p) => !p.archived) }, 200);
  });

  app.post("/crm/v3/properties/:objectType", async (c) => {
    const type = c.req.param("objectType");
    const defs = schema.properties.get(type);
    if (!defs) return c.json(unknownObjectType(type), 400);
    const b = await readBody(c.req);
    if (!b) return c.json(badJson(), 400);
    const problem = propertyProblem(schema, type, b);
    if (problem) return c.json(validationError(problem), 400);
    const name = b.name as string;
    if (defs.has(name)) {
      return c.json(hubspotError("OBJECT_ALREADY_EXISTS", `Property named '${name}' already exists.`), 409);
    }
    const at = now();
    const options = Array.isArray(b.options) ? (b.options as FakeProperty["options"]) : [];
    const created: FakeProperty = {
      name,
      label: b.label as string,
      type: b.type as string,
      fieldType: b.fieldType as string,
      groupName: b.groupName as string,
      description: typeof b.description === "string" ? b.description : "",
      options: options.map((o, i) => ({
        ...o,
        displayOrder: o.displayOrder ?? i,
        hidden: o.hidden ?? false,
      })),
      displayOrder: typeof b.displayOrder === "number" ? b.displayOrder : -1,
      calculated: false,
      externalOptions: false,
      hasUniqueValue: b.hasUniqueValue === true,
      hidden: b.hidden === true,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      formField: b.formField === true,
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    defs.set(name, created);
    return c.json(created, 201);
  });

  app.get("/crm/v3/pipelines/:objectType", (c) => {
    const list = schema.pipelines.get(c.req.param("objectType"));
    if (!list) return c.json(unknownObjectType(c.req.param("objectType")), 400);
    return c.json({ results: list.filter((p) => !p.archived) }, 200);
  });

  app.post("/crm/v3/pipelines/:objectType", async (c) => {
    const type = c.req.param("objectType");
    const list = schema.pipelines.get(type);
    if (!list) return c.json(unknownObjectType(type), 400);
    const b = await readBody(c.req);
    if (!b) return c.json(badJson(), 400);
    if (typeof b.label !== "string" || b.label === "")
      return c.json(validationError("label is required"), 400);
    if (typeof b.displayOrder !== "number") return c.json(validationError("displayOrder is required"), 400);
    const inputs = Array.isArray(b.stages) ? (b.stages as Body[]) : [];
    if (inputs.length === 0) return c.json(validationError("A pipeline requires at least one stage"), 400);
    for (const input of inputs) {
      const problem =
        input && typeof input === "object" ? stageProblem(type, input) : "stages[] must be objects";
      if (problem) return c.json(validationError(problem), 400);
    }
    const labels = inputs.map((i) => i.label as string);
    const twice = labels.find((l, i) => labels.indexOf(l) !== i);
    if (twice !== undefined) return c.json(validationError(`Stage label '${twice}' is used twice`), 400);
    if (list.some((p) => !p.archived && p.label === b.label)) {
      return c.json(
        hubspotError("OBJECT_ALREADY_EXISTS", `A pipeline labelled '${b.label}' already exists for ${type}.`),
        409,
      );
    }
    const at = now();
    const created: FakePipeline = {
      id: nextId(),
      label: b.label,
      displayOrder: b.displayOrder,
      stages: inputs.map((input) => makeStage(type, input, nextId(), at)),
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    list.push(created);
    return c.json(created, 201);
  });

  app.post("/crm/v3/pipelines/:objectType/:pipelineId/stages", async (c) => {
    const type = c.req.param("objectType");
    const list = schema.pipelines.get(type);
    if (!list) return c.json(unknownObjectType(type), 400);
    const pipelineId = c.req.param("pipelineId");
    const pipeline = list.find((p) => p.id === pipelineId && !p.archived);
    if (!pipeline) {
      return c.json(
        hubspotError("OBJECT_NOT_FOUND", `Unable to find pipeline ${pipelineId} for ${type}`),
        404,
      );
    }
    const b = await readBody(c.req);
    if (!b) return c.json(badJson(), 400);
    const problem = stageProblem(type, b);
    if (problem) return c.json(validationError(problem), 400);
    if (pipeline.stages.some((s) => !s.archived && s.label === b.label)) {
      return c.json(
        validationError(`A stage labelled '${b.label}' already exists in pipeline ${pipelineId}`),
        400,
      );
    }
    const created = makeStage(type, b, nextId(), now());
    pipeline.stages.push(created);
    return c.json(created, 201);
  });
}
