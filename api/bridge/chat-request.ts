// What the bridge checks in a chat completion request before it spends a slot on it (valid JSON, a
// model, messages, a well-formed response_format), and the one rewrite it ever does: json_schema
// structured output → vLLM's guided_json for upstreams that lack native json_schema support — plus
// `stream_options.include_usage` added to streamed requests that lack it, so every stream is counted
// (the relay strips the extra usage chunk again). Otherwise the body goes in the client's own bytes.
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
 * A streamed request whose client did not ask for the final usage chunk: the bridge asks for it
 * upstream (to count the tokens) and removes it from what the client receives.
 */
export function needsUsageInjection(r: ChatRequest): boolean {
  if (r.stream !== true) return false;
  const opts = r.stream_options as { include_usage?: unknown } | null | undefined;
  return !(typeof opts === "object" && opts !== null && opts.include_usage === true);
}

/**
 * The bytes sent upstream: the client's own, unless the schema has to move to guided_json or a
 * stream has to ask for usage — then the parsed request, re-serialized with those changes only.
 */
export function upstreamBody(raw: Buffer, r: ChatRequest, guidedJson: boolean, injectUsage: boolean): Buffer {
  if (!(guidedJson && wantsJsonSchema(r)) && !injectUsage) return raw;
  let out: Record<string, unknown> = r;
  if (guidedJson && wantsJsonSchema(r)) {
    const { response_format, ...rest } = r;
    out = { ...rest, guided_json: response_format?.json_schema?.schema ?? {} };
  }
  if (injectUsage) {
    const opts = r.stream_options;
    const base = typeof opts === "object" && opts !== null && !Array.isArray(opts) ? opts : {};
    out = { ...out, stream_options: { ...base, include_usage: true } };
  }
  return Buffer.from(JSON.stringify(out));
}

/**
 * vLLM before native json_schema support took the schema as `guided_json`; it rejects (or ignores)
 * `response_format: json_schema`. Same schema, moved to where that server looks for it.
 */
export function toGuidedJson(r: ChatRequest): Buffer {
  const { response_format, ...rest } = r;
  return Buffer.from(JSON.stringify({ ...rest, guided_json: response_format?.json_schema?.schema ?? {} }));
}
