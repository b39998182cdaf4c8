// schedule: every minute and on each task/ready or worker/released, read one snapshot, let the pure
// scheduler decide (zero model calls), and lease each assignment with one guarded transition that
// owes task/dispatched. A spent daily budget pauses the scheduler (one alert) instead of leasing, until
// a new UTC day has budget again or a person resumes it.
import { cron } from "inngest";
import { budgetFrom, budgetLimits } from "../lib/budget/status.ts";
import { raiseBudgetWarnings } from "../lib/budget/warn.ts";
import { taskReady, workerReleased } from "../lib/events.ts";
import { stableId } from "../lib/ids.ts";
import { publish } from "../lib/outbox/publish.ts";
import { leaseTask } from "../lib/scheduler/lease.ts";
import { pauseScheduler, resumeAfterBudgetDay } from "../lib/scheduler/pause.ts";
import { schedule as plan } from "../lib/scheduler/schedule.ts";
import { readSnapshot } from "../lib/scheduler/snapshot.ts";
import { GuardFailedError, TransitionConflictError } from "../lib/tasks/errors.ts";
import { inngest } from "./client.ts";

export const schedule = inngest.createFunction(
  {
    id: "schedule",
    name: "Lease worker slots to ready tasks",
    retries: 3,
    // One step at a time across passes. Inngest counts executing steps, not runs, so two passes can
    // still interleave between steps: the slot leases' primary key and each lease's move guard are
    // what keep them from leasing one slot or one task twice. Near the day's cap two interleaved
    // passes may each start their share of the last leases (a run checks the budget before each turn).
    concurrency: { limit: 1, key: '"scheduler"', scope: "env" },
    triggers: [cron("* * * * *"), taskReady, workerReleased],
  },
  async ({ step, deps, runId }) => {
    const read = await step.run("snapshot", () =>
      readSnapshot(deps.db, deps.now(), budgetLimits(deps.config)),
    );
    // A budget pause lasts the day it was spent on: a new UTC day with budget lifts it (a person's
    // pause has no day and stays).
    const today = new Date(read.now).toISOString().slice(0, 10);
    const newDay = read.paused && read.budgetPauseDay !== null && read.budgetPauseDay < today;
    const resumed =
      newDay &&
      read.budgetRemaining > 0 &&
      (await step.run("resume-after-budget-day", async () => {
        const r = await resumeAfterBudgetDay(deps.db, { now: new Date(read.now) });
        await publish(deps, r.outbox);
        return r.changed;
      }));
    const snapshot = resumed ? { ...read, paused: false, budgetPauseDay: null } : read;
    const limits = budgetLimits(deps.config);
    const budget = budgetFrom({ ...limits, taskTokens: Number.POSITIVE_INFINITY }, today, {
      tokensToday: snapshot.tokensToday,
      costToday: snapshot.costToday,
      taskTokens: 0,
    });
    if (budget.warnings.length > 0) {
      await step.run("budget-warnings", async () => {
        const owed = await raiseBudgetWarnings(deps.db, budget, limits);
        await publish(deps, owed);
        return owed.map((m) => m.eventId);
      });
    }
    if (!snapshot.paused && !(snapshot.budgetRemaining > 0)) {
      const paused = await step.run("pause-for-budget", async () => {
        const r = await pauseScheduler(deps.db, {
          reason: `daily budget spent (${snapshot.tokensToday} tokens, $${snapshot.costToday.toFixed(2)})`,
          actor: "fn:schedule",
          now: deps.now(),
          // The day the snapshot found spent, not the clock now: a pass that straddles midnight must
          // not mark the new day's pause.
          budgetDay: today,
        });
        await publish(deps, r.outbox);
        return r.changed;
      });
      return { leased: [], paused };
    }
    const assignments = plan(snapshot);
    const leased: string[] = [];
    for (const a of assignments) {
      const ok = await step.run(`lease-${a.taskId}`, async () => {
        try {
          const r = await leaseTask(deps.db, {
            taskId: a.taskId,
            workerId: a.workerId,
            // Derived from the step, so a retried step names the same run it may already have leased.
            runId: stableId("run", `${runId}:${a.taskId}`),
            key: `${runId}:lease:${a.taskId}`,
            now: deps.now(),
          });
          await publish(deps, r.outbox);
          return true;
        } catch (err) {
          // Paused since the snapshot: no lease more in this pass.
          if (err instanceof GuardFailedError && err.guard === "scheduler_running") return "paused" as const;
          // Someone else moved the task, or another pass took the slot: the next pass decides anew.
          if (err instanceof GuardFailedError || err instanceof TransitionConflictError) return false;
          throw err;
        }
      });
      if (ok === "paused") return { leased, paused: true };
      if (ok) leased.push(a.taskId);
    }
    return { leased, paused: snapshot.paused };
  },
);
