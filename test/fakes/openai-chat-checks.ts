// The request checks of the chat-completions fake, with OpenAI's messages: a model, messages, tool
// names, valid roles, every assistant tool call answered by a `tool` message before anything else,
// and no `tool` message without a call to answer.

type ToolCallBody = { id?: string; type?: string; function?: { name?: string; arguments?: string } };
export interface ChatRequestBody {
  model: string;
  messages: { role: string; content?: unknown; tool_calls?: ToolCallBody[]; tool_call_id?: string }[];
  tools?: { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  max_tokens?: number;
  max_completion_tokens?: number;
  [k: string]: unknown;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function chatRequestProblem(
  body: ChatRequestBody,
): { message: string; param: string | null } | undefined {
  if (typeof body.model !== "string" || !body.model)
    return { message: "you must provide a model parameter", param: null };
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return { message: "[] is too short - 'messages'", param: "messages" };
  for (const [i, t] of (body.tools ?? []).entries())
    if (t.type !== "function" || !TOOL_NAME.test(t.function?.name ?? ""))
      return {
        message: `Invalid 'tools[${i}].function.name': string does not match pattern. Expected a string that matches the pattern '${TOOL_NAME.source}'.`,
        param: `tools[${i}].function.name`,
      };
  let open: string[] = [];
  for (const [i, m] of body.messages.entries()) {
    if (!["system", "developer", "user", "assistant", "tool"].includes(m.role))
      return {
        message: `Invalid value: '${m.role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
        param: `messages[${i}].role`,
      };
    if (m.role === "tool") {
      if (!m.tool_call_id || !open.includes(m.tool_call_id))
        return {
          message:
            "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${i}].role`,
        };
      open = open.filter((id) => id !== m.tool_call_id);
      continue;
    }
    if (open.length > 0)
      return {
        message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(", ")}`,
        param: "messages",
      };
    open = m.role === "assistant" ? (m.tool_calls ?? []).map((c) => String(c.id)) : [];
  }
  if (open.length > 0)
    return {
      message: `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open.join(", ")}`,
      param: "messages",
    };
  return undefined;
}
