// A worker's tools: an allow-list. Only a name in its registry can run; the model router gets the
// same list as JSON-schema definitions (toolDefinitions), so what the model is offered and what may
// execute are one list.
import { z } from "zod";
import type { RegisteredTool } from "./contract.ts";

/** Anthropic and OpenAI both accept `^[a-zA-Z0-9_-]{1,64}$` (no dots). */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export interface ToolRegistry {
  readonly worker: string;
  /** Looks a name up on the allow-list. Own names only (no prototype keys). */
  get(name: string): RegisteredTool | undefined;
  readonly names: readonly string[];
  readonly tools: readonly RegisteredTool[];
}

export function defineRegistry(worker: string, tools: RegisteredTool[]): ToolRegistry {
  const byName = new Map<string, RegisteredTool>();
  for (const tool of tools) {
    if (!TOOL_NAME.test(tool.name)) throw new Error(`tool name ${JSON.stringify(tool.name)} is not valid`);
    if (byName.has(tool.name)) throw new Error(`tool ${tool.name} is listed twice for ${worker}`);
    byName.set(tool.name, tool);
  }
  return {
    worker,
    get: (name) => byName.get(name),
    names: [...byName.keys()],
    tools: [...byName.values()],
  };
}

/** The JSON-schema view for the model router: structurally lib/llm's ToolSpec. */
export interface ToolDefinition {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** Each tool's input schema as JSON Schema (the input side of transforms; `$schema` dropped). */
export function toolDefinitions(registry: ToolRegistry): ToolDefinition[] {
  return registry.tools.map((tool) => {
    const { $schema: _, ...inputSchema } = z.toJSONSchema(tool.input, { io: "input" }) as Record<
      string,
      unknown
    >;
    return { name: tool.name, description: tool.description, inputSchema };
  });
}
