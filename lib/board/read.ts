// The status board's data in one read: the projects for the filter, the columns per state, the stamps
// waiting, failures by class, the recent events and today's spend against the budget. Each part is one
// query; they run side by side. The query string is parsed here, at the boundary.
import { sql } from "drizzle-orm";
import { z } from "zod";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import { type BudgetStatus, budgetLimits, readBudget } from "../budget/status.ts";
import type { Config } from "../config.ts";
import { text } from "../text.ts";
import { type FailureGroup, type RecentEvent, readFailures, readRecentEvents } from "./activity.ts";
import { type BoardColumn, readColumns } from "./columns.ts";
import { readWaitingStamps, type WaitingStamp } from "./stamps.ts";

const blankIsUnset = (v: unknown) => (v === "" ? undefined : v);

/** GET /board and /board/fragment: `project` filters every part but the budget (a global cap). */
export const boardQuery = z.object({
  project: z.preprocess(blankIsUnset, text({ min: 1, max: 64 }).optional()),
  /** Seconds between the page's background refreshes. */
  refresh: z.preprocess(blankIsUnset, z.coerce.number().int().min(2).max(3600).default(15)),
});
export type BoardQuery = z.infer<typeof boardQuery>;

export const BOARD_LIMITS = { perColumn: 25, waiting: 100, failureExamples: 5, events: 40 } as const;

export interface BoardData {
  now: Date;
  projects: { id: string; name: string }[];
  /** The filter, when it names a project that exists. */
  project: { id: string; name: string } | undefined;
  /** The filter named a project that does not exist (every part is then empty). */
  unknownProject: string | undefined;
  columns: BoardColumn[];
  waiting: WaitingStamp[];
  failures: FailureGroup[];
  events: RecentEvent[];
  budget: BudgetStatus & { dailyTokens: number; dailyCostUsd: number | undefined };
  dryRun: boolean;
}

type BoardConfig = Pick<
  Config,
  | "FOREMAN_DAILY_TOKEN_BUDGET"
  | "FOREMAN_DAILY_COST_BUDGET_USD"
  | "FOREMAN_TASK_TOKEN_CAP"
  | "FOREMAN_DRY_RUN"
>;

export async function readBoard(
  deps: { db: AppDb; config: BoardConfig },
  query: { project?: string | undefined },
  now: Date,
): Promise<BoardData> {
  const { db, config } = deps;
  const projectId = query.project;
  const limits = budgetLimits(config);
  const [projects, columns, waiting, failures, events, budget] = await Promise.all([
    db
      .execute(sql`select id, name from projects order by name, id`)
      .then((r) => rowsOf<{ id: string; name: string }>(r)),
    readColumns(db, { projectId, perColumn: BOARD_LIMITS.perColumn }),
    readWaitingStamps(db, { projectId, limit: BOARD_LIMITS.waiting }),
    readFailures(db, { projectId, examples: BOARD_LIMITS.failureExamples }),
    readRecentEvents(db, { projectId, limit: BOARD_LIMITS.events }),
    readBudget(db, limits, now),
  ]);
  const project = projectId ? projects.find((p) => p.id === projectId) : undefined;
  return {
    now,
    projects,
    project,
    unknownProject: projectId && !project ? projectId : undefined,
    columns,
    waiting,
    failures,
    events,
    budget: { ...budget, dailyTokens: limits.dailyTokens, dailyCostUsd: limits.dailyCostUsd },
    dryRun: config.FOREMAN_DRY_RUN,
  };
}
