// The one place a run's tool context is built, and so the one place dry-run picks the writer: the
// recording twin when FOREMAN_DRY_RUN is on or the task says dry_run, the live writer otherwise. The
// work function calls this; tests call it too, with the fake's base URL — the same code path.
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import { DomainError } from "../errors.ts";
import type { HubSpotClient } from "../hubspot/client.ts";
import type { OutboxMessage } from "../outbox/message.ts";
import type { ToolContext } from "./contract.ts";
import { liveCrmWriter } from "./crm/live-writer.ts";
import { recordingCrmWriter } from "./crm/recording-writer.ts";
import { DEFAULT_MAX_RESULT_CHARS } from "./result.ts";

export interface ToolContextDeps {
  config: Pick<Config, "FOREMAN_DRY_RUN">;
  db: AppDb;
  hubspot: HubSpotClient | undefined;
  now: () => Date;
  /** Publishes outbox rows (lib/outbox/publish.ts in the work function). */
  send: (outbox: OutboxMessage[]) => Promise<unknown>;
}

export interface ToolRun {
  task: { id: string; dryRun: boolean; rubric?: readonly string[] };
  runId: string;
  actor: string;
  maxResultChars?: number;
}

export const isDryRun = (config: Pick<Config, "FOREMAN_DRY_RUN">, task: { dryRun: boolean }): boolean =>
  config.FOREMAN_DRY_RUN || task.dryRun;

export function createToolContext(deps: ToolContextDeps, run: ToolRun): ToolContext {
  // Reads are real in dry-run too, so the worker needs a client either way.
  if (!deps.hubspot) {
    throw new DomainError("CONFIG", "HUBSPOT_ACCESS_TOKEN is not configured: the CRM tools have no client.");
  }
  const dryRun = isDryRun(deps.config, run.task);
  return {
    taskId: run.task.id,
    rubric: run.task.rubric ?? [],
    actor: run.actor,
    runId: run.runId,
    dryRun,
    db: deps.db,
    hubspot: deps.hubspot,
    crm: dryRun ? recordingCrmWriter() : liveCrmWriter(deps.hubspot),
    now: deps.now,
    send: deps.send,
    maxResultChars: run.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS,
  };
}
