// The read tools: search records, list properties, list pipelines. Reads always go to the real client
// (or the fake), in dry-run too. Results are cut down to what the model needs; the executor caps size.
import type { PublicObjectSearchRequest } from "@hubspot/api-client/lib/codegen/crm/objects/index.js";
import { z } from "zod";
import { fromHubSpotError } from "../../hubspot/errors.ts";
import { text } from "../../text.ts";
import { data, defineTool } from "../contract.ts";
import { objectType, propertyName } from "./schemas.ts";

const OPERATORS = [
  "EQ",
  "NEQ",
  "LT",
  "LTE",
  "GT",
  "GTE",
  "BETWEEN",
  "IN",
  "NOT_IN",
  "HAS_PROPERTY",
  "NOT_HAS_PROPERTY",
  "CONTAINS_TOKEN",
  "NOT_CONTAINS_TOKEN",
] as const;

const filterValue = text({ max: 1_000 });
const filter = z
  .strictObject({
    propertyName,
    operator: z.enum(OPERATORS),
    value: filterValue
      .optional()
      .describe("For EQ, NEQ, LT(E), GT(E), CONTAINS_TOKEN; the low bound of BETWEEN."),
    highValue: filterValue.optional().describe("The high bound of BETWEEN."),
    values: z.array(filterValue).max(100).optional().describe("For IN and NOT_IN."),
  })
  .superRefine((f, ctx) => {
    // What each operator needs, said before HubSpot says it less clearly.
    const needs = (key: "value" | "highValue" | "values") => {
      if (f[key] === undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `${f.operator} needs ${key}` });
    };
    if (f.operator === "BETWEEN") {
      needs("value");
      needs("highValue");
    } else if (f.operator === "IN" || f.operator === "NOT_IN") needs("values");
    else if (f.operator !== "HAS_PROPERTY" && f.operator !== "NOT_HAS_PROPERTY") needs("value");
  });

async function read<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw fromHubSpotError(err, what);
  }
}

export const searchObjects = defineTool({
  name: "hubspot_search_objects",
  description:
    "Search CRM records of one object type. All filters must match (AND). Returns ids and the requested properties; page with `after`.",
  sideEffect: false,
  input: z.strictObject({
    objectType,
    filters: z.array(filter).max(10).default([]).describe("Up to 10 filters, all of which must match."),
    properties: z.array(propertyName).max(50).default([]).describe("Properties to return for each record."),
    limit: z.number().int().min(1).max(100).default(10),
    after: z
      .string()
      .regex(/^\d{1,10}$/)
      .optional()
      .describe("The paging cursor from a previous result."),
  }),
  run: async (ctx, input) => {
    const request = {
      filterGroups: input.filters.length ? [{ filters: input.filters }] : [],
      properties: input.properties,
      limit: input.limit,
      ...(input.after ? { after: input.after } : {}),
    };
    const res = await read(`The ${input.objectType} search`, () =>
      // The operators are FilterOperatorEnum's values as strings.
      ctx.hubspot.crm.objects.searchApi.doSearch(input.objectType, request as PublicObjectSearchRequest),
    );
    return data({
      total: res.total,
      results: res.results.map((r) => ({ id: r.id, properties: r.properties })),
      ...(res.paging?.next?.after ? { after: res.paging.next.after } : {}),
    });
  },
});

export const getProperties = defineTool({
  name: "hubspot_get_properties",
  description:
    "List the property definitions of one object type (internal name, label, type, field type, group, options).",
  sideEffect: false,
  input: z.strictObject({
    objectType,
    groupName: propertyName.optional().describe("Only the properties of this property group."),
  }),
  run: async (ctx, input) => {
    const res = await read(`The ${input.objectType} properties`, () =>
      ctx.hubspot.crm.properties.coreApi.getAll(input.objectType),
    );
    const results = res.results
      .filter((p) => !input.groupName || p.groupName === input.groupName)
      .map((p) => ({
        name: p.name,
        label: p.label,
        type: p.type,
        fieldType: p.fieldType,
        groupName: p.groupName,
        ...(p.description ? { description: p.description } : {}),
        ...(p.options?.length ? { options: p.options.map((o) => ({ label: o.label, value: o.value })) } : {}),
        ...(p.hasUniqueValue ? { hasUniqueValue: true } : {}),
        ...(p.hubspotDefined ? { hubspotDefined: true } : {}),
        ...(p.modificationMetadata?.readOnlyValue ? { readOnlyValue: true } : {}),
      }));
    return data({ objectType: input.objectType, results });
  },
});

export const getPipelines = defineTool({
  name: "hubspot_get_pipelines",
  description:
    "List the pipelines of one object type (tickets or deals) with their stages, ids and metadata.",
  sideEffect: false,
  input: z.strictObject({ objectType }),
  run: async (ctx, input) => {
    const res = await read(`The ${input.objectType} pipelines`, () =>
      ctx.hubspot.crm.pipelines.pipelinesApi.getAll(input.objectType),
    );
    return data({
      objectType: input.objectType,
      results: res.results.map((p) => ({
        id: p.id,
        label: p.label,
        displayOrder: p.displayOrder,
        ...(p.archived ? { archived: true } : {}),
        stages: p.stages.map((s) => ({
          id: s.id,
          label: s.label,
          displayOrder: s.displayOrder,
          metadata: s.metadata ?? {},
          ...(s.archived ? { archived: true } : {}),
        })),
      })),
    });
  },
});
