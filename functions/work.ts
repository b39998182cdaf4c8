// work: a leased task is worked by its agent. The dossier goes in first; each model turn is one step
// (budget checked before it, tokens metered once by the step's key), each tool call is one step
// (allow-listed, validated, dry-run aware, its events appended in one statement); the loop ends when
// the worker submits (a stored deliverable and task/work.submitted — or, while subtasks it spawned are
// open, the task waits for them: lib/work/subtasks.ts) or blocks, or at a limit (turns,
// the engine's steps per run — lib/work/steps.ts, which also caps tool calls per turn — the
// task's token cap, a spent daily budget), or when the run no longer holds its task (cancelled, or
// handed to a newer run: read before every turn and tool call, which also renew the lease, so it
// stops at its next step even before the engine's cancelOn does). The slot is released on every
// path: `finally` here, onFailure for runs that fail, and release-on-cancel for cancelled ones.
import { NonRetriableError } from "inngest";
import { budgetLimits, readBudget } from "../lib/budget/status.ts";
import { redactSecrets } from "../lib/dossier/redact.ts";
import { isDomainError } from "../lib/errors.ts";
import { taskCancelRequested, taskDispatched, taskRunCancelRequested } from "../lib/events.ts";
import { classifyFailure, failureReason } from "../lib/failures.ts";
import { meterKey } from "../lib/llm/meter.ts";
import { runModelTurn } from "../lib/llm/run-turn.ts";
import {
  assistantMessage,
  type ModelTurnInput,
  type NeutralMessage,
  type ToolResult,
} from "../lib/llm/turn.ts";
import { publish } from "../lib/outbox/publish.ts";
import { pauseScheduler } from "../lib/scheduler/pause.ts";
import type { TaskState } from "../lib/states.ts";
import { taskMovedOn } from "../lib/tasks/errors.ts";
import { appendEvents } from "../lib/tasks/event-log.ts";
import { guards } from "../lib/tasks/guards.ts";
import { transition } from "../lib/tasks/transition.ts";
import { createToolContext } from "../lib/tools/context.ts";
import type { Terminal } from "../lib/tools/contract.ts";
import { crmSetupTools } from "../lib/tools/crm-setup.ts";
import { executeToolCall } from "../lib/tools/execute.ts";
import { toolDefinitions } from "../lib/tools/registry.ts";
import { TERMINAL_TOOL_NAMES } from "../lib/tools/task/terminal.ts";
import { loadWorkContext, renewHold } from "../lib/work/context.ts";
import { storeDeliverable } from "../lib/work/deliverable.ts";
import { releaseRun } from "../lib/work/release.ts";
import {
  callsSkipped,
  loopStepsLeft,
  skippedCallMessage,
  toolCallsAllowed,
  turnFits,
} from "../lib/work/steps.ts";
import { blockReason, waitForSubtasks } from "../lib/work/subtasks.ts";
import { boundedWait } from "../lib/work/wait-limit.ts";
import { inngest } from "./client.ts";

const REGISTRIES = { "crm-setup": crmSetupTools } as const;
const NUDGE =
  "Continue with the tools. When the work is done call `submit`; if you need something from a person call `block`.";
const MAX_NUDGES = 2;
/** The output limit of a turn: a deliverable is written in one `submit` call, so it must fit. */
const TURN_MAX_TOKENS = 4096;
const CUT_OFF =
  `Your last answer was cut off at the output limit (${TURN_MAX_TOKENS} tokens), so none of its tool calls ran. ` +
  "Send smaller calls: keep the `submit` markdown to what matters (about 8,000 characters at most) and put details in `result`.";
const LOST = "the task was cancelled or handed to another run while this run worked it";

type Outcome =
  | { kind: "submitted"; deliverableId: string; version: number }
  | { kind: "waiting"; reason: string }
  | { kind: "blocked"; reason: string }
  | { kind: "stopped"; to: TaskState; reason: string; budgetDay?: string; pause?: string }
  | { kind: "lost"; reason: string };

export const work = inngest.createFunction(
  {
    id: "work",
    name: "Work a leased task",
    retries: 3,
    // A second guard beside the slot lease (Inngest counts steps, not runs): one active step per worker.
    concurrency: [{ limit: 1, key: "event.data.workerId" }],
    // A cancel of the task stops whichever run works it; the watchdog's cancel of a run it took the task
    // from stops that run only, never the newer run the scheduler may already have started.
    cancelOn: [
      { event: taskCancelRequested, if: "async.data.taskId == event.data.taskId" },
      { event: taskRunCancelRequested, if: "async.data.runId == event.data.runId" },
    ],
    triggers: [taskDispatched],
    onFailure: async ({ event, error, step, deps }) => {
      const original = event.data.event.data as { taskId: string; runId: string };
      await step.run("release-after-failure", async () => {
        const cls = classifyFailure(error);
        // Not leaseHeld: the run's own `finally` has released the slot by the time it fails. Still
        // `working` on this run's watch (no later run took it) is what makes the failure the task's.
        const moved = await transition(deps.db, {
          taskId: original.taskId,
          from: "working",
          to: "failed_needs_triage",
          key: `${original.runId}:failed`,
          guards: [guards.latestRun(original.runId)],
          reason: failureReason(cls, error.message.slice(0, 300)),
          actor: "fn:work",
          // The task's lease pointers go with the move, in the same statement.
          set: { currentRunId: null, leaseExpiresAt: null },
        }).catch((err: unknown) => {
          // The task may have moved on already (another state, a later run); anything else is a fault.
          if (taskMovedOn(err)) return undefined;
          throw err;
        });
        const released = await releaseRun(deps.db, { runId: original.runId, status: "failed" });
        await publish(deps, [...(moved?.outbox ?? []), ...released.outbox]);
      });
    },
  },
  async ({ event, step, deps, attempt }) => {
    const { taskId, runId, workerId } = event.data;
    const registry = REGISTRIES[workerId as keyof typeof REGISTRIES];
    if (!registry) throw new NonRetriableError(`Worker '${workerId}' has no tool registry.`);

    const context = await step.run("load", () => loadWorkContext(deps.db, { taskId, runId, workerId }));
    if (!context) throw new NonRetriableError(`Task ${taskId} does not exist.`);
    if (!context.held) {
      await step.run("release-stale", async () => {
        const r = await releaseRun(deps.db, { runId, status: "cancelled" });
        await publish(deps, r.outbox);
      });
      return { kind: "lost", reason: `the task is ${context.task.status} and not leased to run ${runId}` };
    }

    const tools = toolDefinitions(registry);
    const messages: NeutralMessage[] = [{ role: "user", text: context.dossier }];
    const maxTurns = deps.config.FOREMAN_MAX_TURNS;
    const stepLimit = deps.config.FOREMAN_ENGINE_STEP_LIMIT;
    // Counted the same on every replay (one per turn, one per executed tool call), so the loop stops
    // at the same place however often the engine re-runs the handler.
    let loopSteps = 0;
    let outcome: Outcome | undefined;
    let terminal: Terminal | undefined;
    let nudges = 0;

    try {
      for (let turn = 1; turn <= maxTurns && !terminal && !outcome; turn++) {
        const stepsLeft = loopStepsLeft(stepLimit, loopSteps);
        if (!turnFits(stepsLeft)) {
          outcome = {
            kind: "stopped",
            to: "failed_needs_triage",
            reason: `timeout: no submission within ${stepLimit} engine steps (${turn - 1} turns); the engine allows no more in one run`,
          };
          break;
        }
        loopSteps++;
        // A cut answer runs none of its calls; otherwise those past the turn's cap or the run's steps.
        const skippedOf = (res: { stop: string; toolCalls: readonly { name: string }[] }) =>
          res.stop === "max_tokens" || res.stop === "context_window"
            ? res.toolCalls.length
            : callsSkipped(
                res.toolCalls.map((c) => c.name),
                stepsLeft,
                TERMINAL_TOOL_NAMES,
              );
        // step.ai.wrap records the turn's input (system, transcript, tools), so the dashboard shows
        // each call's prompt, output and tokens; it retries like any step.
        const turnInput: ModelTurnInput = {
          system: context.system,
          messages,
          tools,
          maxTokens: TURN_MAX_TOKENS,
        };
        const r = await step.ai.wrap(
          `turn-${turn}`,
          async (input: ModelTurnInput) => {
            if (!(await renewHold(deps.db, { taskId, runId }))) return { stop: "lost" as const };
            const budget = await readBudget(deps.db, budgetLimits(deps.config), deps.now(), taskId);
            if (budget.taskSpent) return { stop: "task-cap" as const, tokens: budget.taskTokens };
            if (budget.dailySpent)
              return { stop: "daily-budget" as const, tokens: budget.tokensToday, day: budget.day };
            let res: Awaited<ReturnType<typeof runModelTurn>>;
            try {
              res = await runModelTurn(deps, input, {
                // Per attempt: a turn the engine retries is another call the provider bills.
                key: meterKey(`${runId}:turn-${turn}`, attempt),
                purpose: "work",
                taskId,
                runId,
                projectId: context.task.projectId,
              });
            } catch (err) {
              // Credentials the provider refuses will not heal: triage now instead of burning retries.
              if (isDomainError(err) && err.code === "UNAUTHORIZED")
                return { stop: "auth" as const, message: err.message };
              throw err;
            }
            await appendEvents(
              deps.db,
              [
                {
                  taskId,
                  runId,
                  actor: `worker:${workerId}`,
                  kind: "worker_turn",
                  payload: {
                    turn,
                    provider: res.provider,
                    model: res.model,
                    tier: res.tier,
                    tokensIn: res.usage.input,
                    tokensOut: res.usage.output,
                    toolCalls: res.toolCalls.map((c) => c.name),
                    ...(skippedOf(res) > 0 ? { toolCallsSkipped: skippedOf(res) } : {}),
                  },
                },
                ...(res.text
                  ? [
                      {
                        taskId,
                        runId,
                        actor: `worker:${workerId}`,
                        kind: "worker_summary" as const,
                        payload: { text: redactSecrets(res.text).slice(0, 4000) },
                      },
                    ]
                  : []),
              ],
              // Keyed: a retry whose first attempt's events were written keeps those (the engine
              // memoises the retry's answer; the log then shows the first attempt's tokens and tools).
              { key: `${runId}:turn-${turn}` },
            );
            return { stop: "turn" as const, result: res };
          },
          turnInput,
        );

        if (r.stop === "lost") {
          outcome = { kind: "lost", reason: LOST };
          break;
        }
        if (r.stop === "auth") {
          // A refused key refuses every task: the scheduler pauses (once, one alert) until a person
          // fixes it and resumes, instead of draining the ready queue into triage one task at a time.
          outcome = {
            kind: "stopped",
            to: "failed_needs_triage",
            reason: `auth: ${r.message}`,
            pause: `auth: a model provider refused its credentials (${r.message}). Fix the key, then resume and retry the tasks in triage.`,
          };
          break;
        }
        if (r.stop === "task-cap") {
          outcome = {
            kind: "stopped",
            to: "failed_needs_triage",
            reason: `budget: the task used ${r.tokens} tokens, over its cap`,
          };
          break;
        }
        if (r.stop === "daily-budget") {
          outcome = {
            kind: "stopped",
            to: "ready",
            reason: `daily budget spent (${r.tokens} tokens today): back to the queue`,
            budgetDay: r.day,
          };
          break;
        }
        const result = r.result;
        if (result.stop === "context_window") {
          // The transcript filled the model's context: every later turn would be cut the same way,
          // so nothing more is paid for and no cut call runs. Splitting the task is what helps.
          outcome = {
            kind: "stopped",
            to: "failed_needs_triage",
            reason: `timeout: the run's conversation filled the model's context window at turn ${turn}: split the task, or retry it`,
          };
          break;
        }
        messages.push(assistantMessage(result));
        if (result.stop === "max_tokens") {
          // Cut off mid-answer: its last call may be cut too (a deliverable's markdown ending
          // mid-sentence would pass for finished work), so none runs; the model is told why.
          if (++nudges > MAX_NUDGES) {
            outcome = {
              kind: "stopped",
              to: "failed_needs_triage",
              reason: `malformed_output: the worker's answers kept running past the output limit (${TURN_MAX_TOKENS} tokens)`,
            };
            break;
          }
          if (result.toolCalls.length === 0) messages.push({ role: "user", text: CUT_OFF });
          else
            messages.push({
              role: "tool",
              results: result.toolCalls.map((c) => ({ toolCallId: c.id, content: CUT_OFF, isError: true })),
            });
          continue;
        }
        if (result.toolCalls.length === 0) {
          if (++nudges > MAX_NUDGES) {
            outcome = {
              kind: "stopped",
              to: "failed_needs_triage",
              reason: "malformed_output: the worker stopped without submitting or blocking",
            };
            break;
          }
          messages.push({ role: "user", text: NUDGE });
          continue;
        }
        const results: ToolResult[] = [];
        const allowed = toolCallsAllowed(
          result.toolCalls.filter((c) => !TERMINAL_TOOL_NAMES.has(c.name)).length,
          stepsLeft,
        );
        let others = 0;
        for (const call of result.toolCalls) {
          // The first submit or block ends the run: calls after it in the same turn are never
          // executed (no CRM write after the deliverable is fixed, no second terminal replacing it).
          if (terminal) break;
          // A submit or block always runs (the turn kept a step for it); other calls up to `allowed`.
          if (!TERMINAL_TOOL_NAMES.has(call.name) && ++others > allowed) {
            // Past the turn's cap or the run's steps: answered, never executed (the turn's event counts them).
            results.push({
              toolCallId: call.id,
              content: skippedCallMessage(result.toolCalls.length, stepsLeft),
              isError: true,
            });
            continue;
          }
          loopSteps++;
          const done = await step.run(`tool-${turn}-${call.id}`, async () => {
            if (!(await renewHold(deps.db, { taskId, runId }))) return { lost: true as const };
            const ctx = createToolContext(
              { ...deps, send: (rows) => publish(deps, rows) },
              {
                task: { id: taskId, dryRun: context.task.dryRun, rubric: context.task.rubric },
                runId,
                actor: `worker:${workerId}`,
              },
            );
            // The turn is part of the key: some OpenAI-compatible servers number tool calls per
            // response (call_0, call_1, …), so an id alone can come back in a later turn for another call.
            const key = `${runId}:${turn}:${call.id}`;
            const res = await executeToolCall(ctx, registry, { ...call, key }).catch((err: unknown) => {
              throw boundedWait(err, deps.config.FOREMAN_WATCHDOG_STUCK_MINUTES);
            });
            await appendEvents(
              deps.db,
              res.events.map((e) => ({ ...e, taskId, runId, actor: `worker:${workerId}` })),
              { key },
            );
            return {
              toolCallId: res.toolCallId,
              content: res.content,
              isError: res.isError,
              terminal: res.terminal,
            };
          });
          if ("lost" in done) {
            // A submit or block this turn asked for is no longer this run's to make.
            outcome = { kind: "lost", reason: LOST };
            terminal = undefined;
            break;
          }
          results.push({ toolCallId: done.toolCallId, content: done.content, isError: done.isError });
          if (done.terminal) terminal = done.terminal as Terminal;
        }
        if (outcome) break;
        messages.push({ role: "tool", results });
      }

      if (terminal?.kind === "submit") {
        const submit = terminal;
        outcome = await step.run("submit", async () => {
          // Subtasks still open: the task waits for them (and frees the slot) instead of handing in.
          const waiting = await waitForSubtasks(deps.db, { taskId, runId });
          if (waiting) {
            await publish(deps, waiting.outbox);
            return { kind: "waiting" as const, reason: waiting.reason ?? "" };
          }
          const stored = await storeDeliverable(deps.db, {
            taskId,
            runId,
            markdown: submit.markdown,
            result: submit.result,
            key: `${runId}:submit`,
          });
          await publish(deps, stored.outbox);
          return { kind: "submitted" as const, deliverableId: stored.id, version: stored.version };
        });
      } else if (terminal?.kind === "block") {
        outcome = { kind: "blocked", reason: blockReason(terminal.reason) };
      } else if (!outcome) {
        outcome = {
          kind: "stopped",
          to: "failed_needs_triage",
          reason: `timeout: no submission after ${maxTurns} turns`,
        };
      }

      if (outcome.kind === "blocked" || outcome.kind === "stopped") {
        const to: TaskState = outcome.kind === "blocked" ? "blocked_external" : outcome.to;
        const reason = outcome.reason;
        const budgetDay = outcome.kind === "stopped" ? outcome.budgetDay : undefined;
        const pause = outcome.kind === "stopped" ? outcome.pause : undefined;
        await step.run("finish", async () => {
          const moved = await transition(deps.db, {
            taskId,
            to,
            key: `${runId}:finish`,
            guards: [guards.leaseHeld(runId)],
            // The run lets go of the task in the move itself: a blocked or triaged task never shows
            // a live lease, whether or not the release step after it gets through.
            set: { currentRunId: null, leaseExpiresAt: null },
            // Sent back by the day's budget, it keeps its place in line for the next day.
            keepQueuePlace: budgetDay !== undefined,
            reason,
            actor: "fn:work",
          });
          const owed = [...moved.outbox];
          if (budgetDay) {
            const paused = await pauseScheduler(deps.db, {
              reason,
              actor: "fn:work",
              now: deps.now(),
              budgetDay,
            });
            owed.push(...paused.outbox);
          }
          if (pause) {
            // No budget day: it holds until a person resumes. Already paused, it changes nothing.
            const paused = await pauseScheduler(deps.db, {
              reason: pause,
              actor: "fn:work",
              now: deps.now(),
            });
            owed.push(...paused.outbox);
          }
          await publish(deps, owed);
        });
      }
      return outcome;
    } finally {
      await step.run("release", async () => {
        // The run's own record: it did its job (handed in, waits for subtasks, asked a person), it
        // failed (thrown, or stopped into triage: a cap, a refused key, a timeout, bad output), or it
        // was called off (lost its lease, sent back to the queue by the day's budget).
        const status =
          outcome?.kind === "submitted" || outcome?.kind === "waiting" || outcome?.kind === "blocked"
            ? "succeeded"
            : !outcome || (outcome.kind === "stopped" && outcome.to === "failed_needs_triage")
              ? "failed"
              : "cancelled";
        const r = await releaseRun(deps.db, { runId, status });
        await publish(deps, r.outbox);
      });
    }
  },
);
