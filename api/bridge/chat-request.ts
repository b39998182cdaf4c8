// What the bridge checks in a chat completion request before it spends a slot on it (valid JSON, a
// model, messages, a well-formed response_format), and the one rewrite it ever does: json_schema
// structured output → vLLM's guided_json for upstreams that lack native json_schema support.
// Everything else in the body is passed through untouched, in the client's own bytes.
import { z } from "zod";
import type { ErrorReply } from "./respond.ts";

const JsonSchemaFormat = z.looseObject({
  name: z.string({ error: "response_format.json_schema.name must be a string" }).min(1),
  schema: z.record(z.string(), z.unknown()).optional(),
});

const ResponseFormat = z
  .looseObject({
    type: z.string({ error: "response_format.type must be a string" }),
    json_schema: JsonSchemaFormat.optional(),
  })
  .refine((rf) => rf.type !== "json_schema" || rf.json_schema !== undefined, {
    message: 'response_format of type "json_schema" needs a json_schema object',
    path: ["json_schema"],
  });

export const ChatRequestSchema = z.looseObject({
  model: z.string({ error: "model is required" }).min(1, "model is required"),
  messages: z.array(z.unknown(), { error: "messages must be an array" }).min(1, "messages must not be empty"),
  stream: z.boolean({ error: "stream must be a boolean" }).optional(),
  response_format: ResponseFormat.optional(),
});

export type ChatRequest = z.infer<typeof ChatRequestSchema>;

export type ParsedChat = { ok: true; request: ChatRequest } | { ok: false; reply: ErrorReply };

const invalid = (message: string, code: string, param?: string): ParsedChat => ({
  ok: false,
  reply: { status: 400, type: "invalid_request_error", code, message, ...(param ? { param } : {}) },
});

export function parseChatRequest(body: Buffer): ParsedChat {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return invalid("Request body is not valid JSON.", "invalid_json");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return invalid("Request body must be a JSON object.", "invalid_json");
  const parsed = ChatRequestSchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  const param = issue?.path.join(".") || undefined;
  return invalid(
    issue?.message ?? "Invalid request.",
    issue?.path[0] === "model" ? "missing_model" : "invalid_value",
    param,
  );
}

/** True when the request asks for json_schema output (the only case the vLLM mapping touches). */
export const wantsJsonSchema = (r: ChatRequest) => r.response_format?.type === "json_schema";

/**
 * vLLM before native json_schema support took the schema as `guided_json`; it rejects (or ignores)
 * `response_format: json_schema`. Same schema, moved to where that server looks for it.
 */
export function toGuidedJson(r: ChatRequest): Buffer {
  const { response_format, ...rest } = r;
  return Buffer.from(JSON.stringify({ ...rest, guided_json: response_format?.json_schema?.schema ?? {} }));
}
