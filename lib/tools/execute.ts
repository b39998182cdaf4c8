// One tool call, from the model's request to the result the model reads next, plus the task_events
// records that tell the story (tool_call, then any would_do, then tool_result). The work loop runs it
// as one step per call and appends `events` in the same step. A live write's result is kept in the
// side-effect ledger under the call's key (ledger.ts), so a retried step answers it again instead of
// writing to the CRM twice.
//
// What reaches `run`: only a name on the worker's allow-list, with arguments its zod schema accepted.
// Everything else comes back to the model as an error result and runs nothing:
//   - a name not on the list (UNKNOWN_TOOL) — every time, however often the model insists;
//   - arguments that are not JSON, or not valid for the schema (VALIDATION, naming each field).
// Errors a tool throws:
//   - a DomainError the model can act on (VALIDATION, NOT_FOUND, CONFLICT, FORBIDDEN, LIMIT_EXCEEDED,
//     INVALID_TRANSITION — e.g. HubSpot's 400/404/409) → an error result carrying its message;
//   - a retryable one (RATE_LIMITED, UPSTREAM, UNAVAILABLE: HubSpot 429/5xx/network) is rethrown, so
//     the step fails and Inngest retries it (the function-edge middleware turns RATE_LIMITED into
//     RetryAfterError); telling the model "HubSpot is down" would only burn a turn;
//   - UNAUTHORIZED and CONFIG are rethrown too: no turn can fix a token or the configuration, and the
//     edge makes them non-retriable, which sends the task to triage;
//   - anything that is not a DomainError is a bug and is rethrown.
import { z } from "zod";
import { storable } from "../../db/rows.ts";
import { redactSecrets } from "../dossier/redact.ts";
import { DomainError } from "../errors.ts";
import { eventRecord, type TaskEventRecord } from "../tasks/event-kinds.ts";
import type { Terminal, ToolCallContext, ToolContext } from "./contract.ts";
import { recordedResult, recordResult } from "./ledger.ts";
import type { ToolRegistry } from "./registry.ts";
import { errorContent, fitJson, okContent, type ToolErrorBody } from "./result.ts";

/** Structurally lib/llm's ToolCall, plus an optional idempotency key from the loop. */
export interface ToolCallRequest {
  id: string;
  name: string;
  /** The arguments: an object (Anthropic) or JSON text (OpenAI-style). */
  input: unknown;
  /** Set by the model router when the arguments were not valid JSON. */
  parseError?: string;
  /** The step's idempotency key; default `<runId>:<id>`. */
  key?: string;
}

/** Structurally a lib/llm ToolResult (toolCallId, content, isError), plus what the loop records. */
export interface ToolCallResult {
  toolCallId: string;
  tool: string;
  isError: boolean;
  /** JSON text for the model's tool result. Data, never instructions: the dossier fences it. */
  content: string;
  /** task_events records to append, in order. */
  events: TaskEventRecord[];
  /** Set by submit and block (and only when they succeeded): the loop ends the run with it. */
  terminal?: Terminal;
}

const PROPAGATE = new Set(["UNAUTHORIZED", "CONFIG"]);
// A tool_call event keeps the arguments, but not a whole deliverable twice.
const MAX_EVENT_INPUT_CHARS = 4_000;

const fieldsOf = (error: z.ZodError) =>
  error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.map(String).join(".") : "(arguments)",
    message: issue.message,
  }));

const validationError = (tool: string, error: z.ZodError): ToolErrorBody => {
  const fields = fieldsOf(error);
  const list = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  return { code: "VALIDATION", message: `Invalid arguments for ${tool}, nothing was run. ${list}`, fields };
};

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

function argumentsOf(call: ToolCallRequest): Parsed {
  if (call.parseError) return { ok: false, message: `The arguments are not valid JSON: ${call.parseError}` };
  if (call.input === undefined || call.input === null || call.input === "") return { ok: true, value: {} };
  if (typeof call.input !== "string") return { ok: true, value: call.input };
  try {
    return { ok: true, value: JSON.parse(call.input) };
  } catch (err) {
    return { ok: false, message: `The arguments are not valid JSON: ${(err as Error).message}` };
  }
}

const eventInput = (input: unknown) => {
  const clean = storable(input ?? null);
  const fitted = fitJson(clean, MAX_EVENT_INPUT_CHARS);
  return fitted.truncated
    ? { input: JSON.parse(fitted.text), inputTruncated: fitted.truncated }
    : { input: clean };
};

export async function executeToolCall(
  ctx: ToolContext,
  registry: ToolRegistry,
  call: ToolCallRequest,
): Promise<ToolCallResult> {
  const name = typeof call.name === "string" ? call.name : String(call.name);
  const shownName = storable(name.slice(0, 80)) as string;
  const tool = registry.get(name);
  const events: TaskEventRecord[] = [];
  const args = argumentsOf(call);
  const callEvent = (extra: Record<string, unknown> = {}) =>
    eventRecord("tool_call", {
      tool: shownName,
      callId: call.id,
      ...eventInput(args.ok ? args.value : call.input),
      ...extra,
    });
  const finish = (raw: { isError: boolean; content: string }, extra: Record<string, unknown> = {}) => {
    // A key or token a CRM record holds goes neither to the model nor into the log (or the board).
    const content = { ...raw, content: redactSecrets(raw.content) };
    events.push(eventRecord("tool_result", { tool: shownName, callId: call.id, ...content, ...extra }));
    return { toolCallId: call.id, tool: shownName, ...content, events };
  };

  if (!tool) {
    events.push(callEvent({ allowed: false }));
    const message =
      `There is no tool named ${JSON.stringify(shownName)} for the ${registry.worker} worker, so nothing was run. ` +
      `The tools are: ${registry.names.join(", ")}.`;
    return finish(errorContent({ code: "UNKNOWN_TOOL", message }, ctx.maxResultChars), {
      errorCode: "UNKNOWN_TOOL",
    });
  }
  events.push(callEvent());
  if (!args.ok) {
    return finish(errorContent({ code: "VALIDATION", message: args.message }, ctx.maxResultChars), {
      errorCode: "VALIDATION",
    });
  }
  const parsed = tool.input.safeParse(args.value);
  if (!parsed.success) {
    return finish(errorContent(validationError(tool.name, parsed.error), ctx.maxResultChars), {
      errorCode: "VALIDATION",
    });
  }
  // Belt and braces: a dry-run context must never hold a live writer.
  if (ctx.dryRun && ctx.crm.mode !== "recording") {
    throw new DomainError("CONFIG", "dry-run tool context with a live CRM writer");
  }

  const callCtx: ToolCallContext = { ...ctx, callId: call.id, key: call.key ?? `${ctx.runId}:${call.id}` };
  // A live write already made under this key (the step is a retry): the same answer, no second write.
  const ledgered = tool.sideEffect && !ctx.dryRun;
  if (ledgered) {
    const prior = await recordedResult(ctx.db, callCtx.key);
    if (prior) return finish(okContent(prior.result, ctx.maxResultChars), { replayed: true });
  }
  try {
    const out = await tool.run(callCtx, parsed.data);
    // The write went through: keep its result under the key. If that fails, the step still succeeds
    // (its result is then the engine's memo) and the log says the ledger has no row for it.
    let ledgerError: string | undefined;
    if (ledgered && out.type === "data") {
      await recordResult(ctx.db, {
        key: callCtx.key,
        taskId: ctx.taskId,
        runId: ctx.runId,
        tool: tool.name,
        result: storable(out.data),
      }).catch((err: unknown) => {
        ledgerError = `the side-effect ledger could not record this write: ${String(err).slice(0, 300)}`;
      });
    }
    const ledgerNote = ledgerError ? { ledgerError } : {};
    if (out.type === "data") {
      for (const w of out.wouldDo ?? []) events.push(eventRecord("would_do", storable(w) as typeof w));
      return finish(okContent(out.data, ctx.maxResultChars), {
        ...(out.wouldDo?.length ? { dryRun: true } : {}),
        ...ledgerNote,
      });
    }
    return {
      ...finish(okContent(out.data, ctx.maxResultChars), { terminal: out.terminal.kind }),
      terminal: out.terminal,
    };
  } catch (err) {
    if (err instanceof z.ZodError) {
      return finish(errorContent(validationError(tool.name, err), ctx.maxResultChars), {
        errorCode: "VALIDATION",
      });
    }
    if (!(err instanceof DomainError) || err.retryable || PROPAGATE.has(err.code)) throw err;
    const body: ToolErrorBody = { code: err.code, message: err.message };
    if (err.field) body.fields = [{ path: err.field, message: err.message }];
    return finish(errorContent(body, ctx.maxResultChars), { errorCode: err.code });
  }
}
