// The crm-setup allow-list and its JSON-schema view for the model router: names both providers accept,
// strict input schemas (no unknown keys), the required fields, and no `$schema`.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { data, defineTool } from "./contract.ts";
import { crmSetupTools } from "./crm-setup.ts";
import { defineRegistry, TOOL_NAME, toolDefinitions } from "./registry.ts";

// Anthropic: ^[a-zA-Z0-9_-]{1,64}$ ; OpenAI function names: ^[a-zA-Z0-9_-]{1,64}$.
const ANTHROPIC = /^[a-zA-Z0-9_-]{1,64}$/;
const OPENAI = /^[a-zA-Z0-9_-]{1,64}$/;

describe("crmSetupTools", () => {
  it("is exactly the day-1 allow-list", () => {
    expect(crmSetupTools.names).toEqual([
      "hubspot_search_objects",
      "hubspot_get_properties",
      "hubspot_get_pipelines",
      "hubspot_create_property",
      "hubspot_update_record",
      "hubspot_create_pipeline_stage",
      "hubspot_add_note",
      "checklist_complete",
      "task_spawn_subtask",
      "submit",
      "block",
    ]);
    for (const name of crmSetupTools.names) {
      expect(name).toMatch(ANTHROPIC);
      expect(name).toMatch(OPENAI);
    }
  });

  it("marks the CRM writes, and only them, as side-effecting", () => {
    expect(crmSetupTools.tools.filter((t) => t.sideEffect).map((t) => t.name)).toEqual([
      "hubspot_create_property",
      "hubspot_update_record",
      "hubspot_create_pipeline_stage",
      "hubspot_add_note",
    ]);
  });

  it("exports each input as a strict JSON-schema object with its required fields", () => {
    const defs = Object.fromEntries(toolDefinitions(crmSetupTools).map((d) => [d.name, d]));
    for (const d of Object.values(defs)) {
      expect(d.description.length).toBeGreaterThan(10);
      expect(d.inputSchema).toMatchObject({ type: "object", additionalProperties: false });
      expect(d.inputSchema).not.toHaveProperty("$schema");
      expect(() => JSON.stringify(d.inputSchema)).not.toThrow();
    }
    expect(defs.hubspot_create_property?.inputSchema.required).toEqual([
      "objectType",
      "name",
      "label",
      "type",
      "fieldType",
      "groupName",
    ]);
    // Defaults are optional on the input side.
    expect(defs.hubspot_search_objects?.inputSchema.required).toEqual(["objectType"]);
    expect(defs.submit?.inputSchema.required).toEqual(["markdown"]);
    expect(defs.block?.inputSchema.required).toEqual(["reason"]);
    expect(defs.task_spawn_subtask?.inputSchema.required).toEqual(["title"]);
    const props = defs.hubspot_create_property?.inputSchema.properties as Record<string, { enum?: string[] }>;
    expect(props.type?.enum).toContain("enumeration");
  });
});

describe("defineRegistry", () => {
  const tool = (name: string) =>
    defineTool({
      name,
      description: "d",
      input: z.object({}),
      sideEffect: false,
      run: async () => data(null),
    });
  it("refuses names a provider would refuse (dots, spaces, > 64) and duplicates", () => {
    for (const bad of ["hubspot.search_objects", "a b", "x".repeat(65), ""]) {
      expect(TOOL_NAME.test(bad)).toBe(false);
      expect(() => defineRegistry("w", [tool(bad)])).toThrow(/not valid/);
    }
    expect(() => defineRegistry("w", [tool("a"), tool("a")])).toThrow(/twice/);
  });
  it("looks up own names only", () => {
    const r = defineRegistry("w", [tool("a")]);
    expect(r.get("a")?.name).toBe("a");
    expect(r.get("constructor")).toBeUndefined();
    expect(r.get("__proto__")).toBeUndefined();
  });
});
