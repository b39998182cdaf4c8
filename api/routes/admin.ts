// The operator's view and switches (bearer auth, /api/admin): the workers with their slots and
// leases, today's budget and where it went, the tasks in triage by failure class with what to do
// about each, and the scheduler's pause flag — read, paused (with a reason), resumed. Pausing and
// resuming are one statement each that writes scheduler/paused or scheduler/resumed (naming the
// caller) to the outbox only when the flag actually flips.
import { Hono } from "hono";
import { z } from "zod";
import { readFailures } from "../../lib/board/activity.ts";
import { readSpendBreakdown } from "../../lib/budget/breakdown.ts";
import { type BudgetStatus, budgetLimits, readBudget } from "../../lib/budget/status.ts";
import type { Config } from "../../lib/config.ts";
import { DomainError } from "../../lib/errors.ts";
import { FAILURE_HINTS } from "../../lib/failures.ts";
import { pauseScheduler, resumeScheduler } from "../../lib/scheduler/pause.ts";
import { type PauseState, readPauseState } from "../../lib/scheduler/pause-state.ts";
import { text } from "../../lib/text.ts";
import { readWorkers } from "../../lib/workers/status.ts";
import { actorOf } from "../actor.ts";
import type { AppEnv } from "../env.ts";
import { zodErrorResponse } from "../errors.ts";
import { readOptionalJson } from "../json-body.ts";
import { publishForAnswer } from "../publish.ts";

const pauseBody = z.strictObject({
  reason: text({ trim: true, min: 1, minMessage: "must not be empty", max: 200 }).optional(),
});

const failuresQuery = z.strictObject({
  project: text({ min: 1, max: 64 }).optional(),
  examples: z.coerce.number().int().min(0).max(50).default(5),
});

const presentPause = (p: PauseState) => ({
  paused: p.paused,
  since: p.since,
  reason: p.reason,
  actor: p.actor,
  // Set while the daily budget holds the pause: it lifts itself once a later UTC day has budget.
  budget_day: p.budgetDay,
});

/** Why a resume is refused while today's budget is spent: which cap, how far, and what lifts it. */
function budgetSpentError(config: Config, b: BudgetStatus): DomainError {
  const tokenCap = config.FOREMAN_DAILY_TOKEN_BUDGET;
  const costCap = config.FOREMAN_DAILY_COST_BUDGET_USD;
  const byTokens = b.tokensToday >= tokenCap;
  const spent = byTokens
    ? `${b.tokensToday.toLocaleString("en")} of ${tokenCap.toLocaleString("en")} tokens (FOREMAN_DAILY_TOKEN_BUDGET)`
    : `$${b.costToday.toFixed(2)} of $${(costCap ?? 0).toFixed(2)} (FOREMAN_DAILY_COST_BUDGET_USD)`;
  return new DomainError(
    "CONFLICT",
    `Today's budget (${b.day} UTC) is spent: ${spent}. Resumed now, the scheduler would pause again at its next pass. A pause the budget set lifts itself on the next UTC day; to run today, raise ${byTokens ? "FOREMAN_DAILY_TOKEN_BUDGET" : "FOREMAN_DAILY_COST_BUDGET_USD"} and resume.`,
    {
      details: {
        reason: "budget_spent",
        day: b.day,
        tokens_used: b.tokensToday,
        tokens_limit: tokenCap,
        cost_used_usd: b.costToday,
        cost_limit_usd: costCap ?? null,
      },
    },
  );
}

export const adminRoutes = new Hono<AppEnv>()
  .get("/workers", async (c) => {
    const deps = c.get("deps");
    const workers = await readWorkers(deps.db, deps.now());
    return c.json({
      workers: workers.map((w) => ({
        id: w.id,
        name: w.name,
        agent_type: w.agentType,
        model_tier: w.modelTier,
        tools: w.tools,
        active: w.active,
        slots: w.slots,
        busy: w.leases.length,
        queued: w.queued,
        leases: w.leases.map((l) => ({
          slot: l.slot,
          task_id: l.taskId,
          task_title: l.taskTitle,
          run_id: l.runId,
          since: l.since,
          expires_at: l.expiresAt,
          lapsed: l.lapsed,
        })),
      })),
    });
  })
  .get("/budget", async (c) => {
    const deps = c.get("deps");
    const { config } = deps;
    const now = deps.now();
    const [status, spend, pause] = await Promise.all([
      readBudget(deps.db, budgetLimits(config), now),
      readSpendBreakdown(deps.db, now),
      readPauseState(deps.db),
    ]);
    const line = (l: (typeof spend.byProject)[number]) => ({
      key: l.key,
      calls: l.calls,
      tokens: l.tokens,
      cost_usd: l.costUsd,
    });
    return c.json({
      day: status.day,
      tokens: {
        used: status.tokensToday,
        limit: config.FOREMAN_DAILY_TOKEN_BUDGET,
        share_pct:
          config.FOREMAN_DAILY_TOKEN_BUDGET > 0
            ? Math.round((status.tokensToday / config.FOREMAN_DAILY_TOKEN_BUDGET) * 1000) / 10
            : null,
      },
      cost: { used_usd: status.costToday, limit_usd: config.FOREMAN_DAILY_COST_BUDGET_USD ?? null },
      task_token_cap: config.FOREMAN_TASK_TOKEN_CAP,
      spent: status.dailySpent,
      warnings: status.warnings,
      scheduler: presentPause(pause),
      by_project: spend.byProject.map(line),
      by_tier: spend.byTier.map(line),
    });
  })
  .get("/failures", async (c) => {
    const parsed = failuresQuery.safeParse(c.req.query());
    if (!parsed.success) return zodErrorResponse(c, parsed.error, "query.");
    const groups = await readFailures(c.get("deps").db, {
      projectId: parsed.data.project,
      examples: parsed.data.examples,
    });
    return c.json({
      total: groups.reduce((n, g) => n + g.count, 0),
      classes: groups.map((g) => ({
        class: g.failureClass,
        count: g.count,
        hint: FAILURE_HINTS[g.failureClass],
        tasks: g.tasks,
      })),
    });
  })
  .get("/scheduler", async (c) => c.json(presentPause(await readPauseState(c.get("deps").db))))
  .post("/pause", async (c) => {
    const deps = c.get("deps");
    const actor = actorOf(c.req.raw);
    const body = pauseBody.parse(await readOptionalJson(c.req.raw));
    const r = await pauseScheduler(deps.db, {
      reason: body.reason ?? `paused by ${actor}`,
      actor,
      now: deps.now(),
    });
    const warnings = await publishForAnswer(c, r.outbox);
    return c.json({
      changed: r.changed,
      ...presentPause(await readPauseState(deps.db)),
      ...(warnings.length ? { warnings } : {}),
    });
  })
  .post("/resume", async (c) => {
    const deps = c.get("deps");
    const actor = actorOf(c.req.raw);
    pauseBody.omit({ reason: true }).parse(await readOptionalJson(c.req.raw));
    const now = deps.now();
    // Resumed with today's budget spent, the next schedule pass would pause again within the minute
    // (and alert again): refuse, naming the cap that holds and what lifts it.
    const [budget, before] = await Promise.all([
      readBudget(deps.db, { ...budgetLimits(deps.config), taskTokens: Number.POSITIVE_INFINITY }, now),
      readPauseState(deps.db),
    ]);
    if (before.paused && budget.dailySpent) throw budgetSpentError(deps.config, budget);
    const r = await resumeScheduler(deps.db, { actor, now });
    const warnings = await publishForAnswer(c, r.outbox);
    return c.json({
      changed: r.changed,
      ...presentPause(await readPauseState(deps.db)),
      ...(warnings.length ? { warnings } : {}),
    });
  });
