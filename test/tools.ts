// Tool tests' harness: a tool context over the HubSpot fake, built by the production factory
// (createToolContext) with only the base URL swapped — so dry-run picks its writer the same way here
// as in the work function.
import { beforeAll } from "vitest";
import type { AppDb } from "../db/types.ts";
import { createHubSpotClient } from "../lib/hubspot/client.ts";
import type { OutboxMessage } from "../lib/outbox/message.ts";
import { createToolContext } from "../lib/tools/context.ts";
import type { ToolContext } from "../lib/tools/contract.ts";
import { useTestDb } from "./db.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot } from "./fakes/hubspot.ts";
import { insertTask } from "./fixtures.ts";

/** For tests without a database: any use is a test bug, said loudly. */
const noDb = new Proxy({} as AppDb, {
  get: (_t, prop) => {
    throw new Error(`this test has no database (db.${String(prop)})`);
  },
});

export const FIXED_NOW = new Date("2026-12-01T09:30:00.000Z");

export interface ToolContextOptions {
  /** FOREMAN_DRY_RUN. */
  dryRun?: boolean;
  /** The task's own dry_run. */
  taskDryRun?: boolean;
  db?: AppDb;
  taskId?: string;
  rubric?: string[];
  maxResultChars?: number;
  token?: string;
  /** Where the tools' outbox rows go (default: nowhere; they stay in the outbox). */
  send?: (outbox: OutboxMessage[]) => Promise<unknown>;
}

export function toolContext(fake: FakeHubSpot, opts: ToolContextOptions = {}): ToolContext {
  return createToolContext(
    {
      config: { FOREMAN_DRY_RUN: opts.dryRun ?? false },
      db: opts.db ?? noDb,
      hubspot: createHubSpotClient({ accessToken: opts.token ?? FAKE_HUBSPOT_TOKEN, baseUrl: fake.url }),
      now: () => FIXED_NOW,
      send: opts.send ?? (async () => undefined),
    },
    {
      task: { id: opts.taskId ?? "task_test", dryRun: opts.taskDryRun ?? false, rubric: opts.rubric ?? [] },
      runId: "run_test",
      actor: "worker:crm-setup",
      ...(opts.maxResultChars === undefined ? {} : { maxResultChars: opts.maxResultChars }),
    },
  );
}

let seq = 0;
/** A tool call as the model router hands it over. */
export const call = (name: string, input: unknown) => ({ id: `toolu_${++seq}`, name, input });

/** The model's view of a result. */
export const parsed = (r: { content: string }) => JSON.parse(r.content) as Record<string, any>;

/** The default task's id (toolContext's taskId). */
export const TOOL_TASK_ID = "task_test";

/**
 * A per-file database holding the default task: live write tools keep their results in the
 * side-effect ledger (tool_calls, which references the task).
 */
export function useToolDb(): () => AppDb {
  const t = useTestDb();
  beforeAll(async () => {
    await insertTask(t.current.db, { id: TOOL_TASK_ID });
  });
  return () => t.current.db;
}
