// The request checks of the Anthropic fake, as the Messages API makes them and a translation bug
// would trip: required fields, roles (the first one a user), empty text blocks, tool names and
// schemas, tool_use ids and object inputs, every tool_use answered by a tool_result in the next
// message and no orphan results, and thinking blocks replayed to a model other than the one that
// signed them. Each returns the API's message for the first problem found.
import { createHash } from "node:crypto";

type Block = { type: string; [k: string]: unknown };
export interface AnthropicRequestBody {
  model: string;
  max_tokens: number;
  system?: string | Block[];
  messages: { role: string; content: string | Block[] }[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  [k: string]: unknown;
}

/** Thinking signatures bind a block to the model that wrote it, as the real API's do. */
export const thinkingSignature = (model: string, thinking: string): string =>
  `fakesig_${createHash("sha256").update(`${model}\n${thinking}`).digest("hex").slice(0, 24)}`;

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/** Checks a parsed body as the API does; returns the API's message for the first problem. */
export function anthropicRequestProblem(body: AnthropicRequestBody): string | undefined {
  if (typeof body.model !== "string" || !body.model) return "model: Field required";
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1)
    return "max_tokens: Input should be a valid integer greater than or equal to 1";
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return "messages: at least one message is required";
  for (const [i, t] of (body.tools ?? []).entries()) {
    if (!TOOL_NAME.test(t.name))
      return `tools.${i}.custom.name: String should match pattern '${TOOL_NAME.source}'`;
    if (t.input_schema?.type !== "object") return `tools.${i}.custom.input_schema.type: Field required`;
  }
  let pendingToolUse: string[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (m.role !== "user" && m.role !== "assistant")
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    if (i === 0 && m.role !== "user") return 'messages: first message must use the "user" role';
    const blocks: Block[] = typeof m.content === "string" ? [{ type: "text", text: m.content }] : m.content;
    if (!Array.isArray(blocks) || (blocks.length === 0 && i < body.messages.length - 1))
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    const results: string[] = [];
    for (const [j, b] of blocks.entries()) {
      if (b.type === "text" && (typeof b.text !== "string" || b.text === ""))
        return `messages.${i}.content.${j}.text: text content blocks must be non-empty`;
      if (b.type === "thinking" && b.signature !== thinkingSignature(body.model, String(b.thinking)))
        return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      if (b.type === "tool_use") {
        if (m.role !== "assistant")
          return `messages.${i}.content.${j}: tool_use blocks are only allowed in assistant messages`;
        if (typeof b.id !== "string" || !TOOL_ID.test(b.id))
          return `messages.${i}.content.${j}.tool_use.id: String should match pattern '${TOOL_ID.source}'`;
        if (typeof b.input !== "object" || b.input === null || Array.isArray(b.input))
          return `messages.${i}.content.${j}.tool_use.input: Input should be a valid dictionary`;
      }
      if (b.type === "tool_result") {
        const id = String(b.tool_use_id);
        if (m.role !== "user" || !pendingToolUse.includes(id))
          return `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
        results.push(id);
      }
    }
    const missing = pendingToolUse.filter((id) => !results.includes(id));
    if (missing.length > 0)
      return `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    pendingToolUse =
      m.role === "assistant" ? blocks.filter((b) => b.type === "tool_use").map((b) => String(b.id)) : [];
  }
  return undefined;
}
