// The tool contract (DESIGN §7: tools are an allow-list with zod schemas). A tool is a name, a
// description, a zod input schema, whether it changes anything outside foreman, and `run`. The
// executor (execute.ts) is the only caller of `run`, and only with input its schema has parsed.
// `run` answers either data for the model or a terminal action (submit, block) the work loop acts on.
import type { z } from "zod";
import type { AppDb } from "../../db/types.ts";
import type { HubSpotClient } from "../hubspot/client.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { CrmWriter, WouldDo } from "./crm/writer.ts";

/** What every tool call of one agent run shares. Build it with createToolContext (context.ts). */
export interface ToolContext {
  /** The task the worker is on: subtasks hang under it, checklist items are its rubric. */
  taskId: string;
  /** The task's rubric; checklist_complete ticks its items (any item when it is empty). */
  rubric: readonly string[];
  /** Who acts, as written in the event log (e.g. `worker:crm-setup`). */
  actor: string;
  /** The agent run; with a call's id it keys every idempotent write the call makes. */
  runId: string;
  /** Global FOREMAN_DRY_RUN or the task's dry_run. Decides `crm`; reads are real either way. */
  dryRun: boolean;
  db: AppDb;
  /** Reads: always the real client (or the fake in tests), in dry-run too. */
  hubspot: HubSpotClient;
  /** Writes: the live writer, or its recording twin in dry-run. */
  crm: CrmWriter;
  now: () => Date;
  /** Sends outbox rows a tool's statement wrote (the fast path; unsent rows are the drain's). */
  send: (outbox: OutboxMessage[]) => Promise<unknown>;
  /** The largest tool result handed back to the model, in characters. */
  maxResultChars: number;
}

/** The context of one call: the run's plus the call's own id and idempotency key. */
export interface ToolCallContext extends ToolContext {
  callId: string;
  /** Stable across retries of the call's step: `<runId>:<callId>` unless the loop gives one. */
  key: string;
}

/** What the work loop does after a terminal tool: store the deliverable, or block the task. */
export type Terminal =
  | { kind: "submit"; markdown: string; result: Record<string, unknown> }
  | { kind: "block"; reason: string };

export type ToolOutput =
  | { type: "data"; data: unknown; wouldDo?: WouldDo[] }
  | { type: "terminal"; terminal: Terminal; data: unknown };

export interface ToolSpec<S extends z.ZodType = z.ZodType> {
  /** Valid for both Anthropic and OpenAI tool APIs: letters, digits, `_`, `-`; at most 64. */
  name: string;
  description: string;
  input: S;
  /** True when it changes something outside foreman (the CRM): in dry-run it records WOULD_DO. */
  sideEffect: boolean;
  run(ctx: ToolCallContext, input: z.output<S>): Promise<ToolOutput>;
}

/** A tool as the registry holds it: its input type erased (the executor parses before it runs). */
export interface RegisteredTool {
  name: string;
  description: string;
  input: z.ZodType;
  sideEffect: boolean;
  run(ctx: ToolCallContext, input: unknown): Promise<ToolOutput>;
}

export function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): RegisteredTool {
  return { ...spec, run: (ctx, input) => spec.run(ctx, input as z.output<S>) };
}

export const data = (value: unknown, wouldDo?: WouldDo): ToolOutput =>
  wouldDo ? { type: "data", data: value, wouldDo: [wouldDo] } : { type: "data", data: value };
