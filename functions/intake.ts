// intake: a submitted task is enriched from its HubSpot ticket (subject, content, the company as its
// project), triaged by the local router model (rules when the GPU is unavailable — intake never
// blocks on it), and moved to `ready` when every dependency is done; otherwise it waits in intake
// for promote. A ticket that no longer exists, or credentials HubSpot refuses, send the task to
// failed_needs_triage with the failure's class, as does a run out of retries (onFailure). One run per
// task (idempotency on the task id). Its steps (`runIntake`) also serve retriage, for an untriaged task
// a person retried.
import { NonRetriableError } from "inngest";
import { isDomainError } from "../lib/errors.ts";
import { taskSubmitted } from "../lib/events.ts";
import { classifyFailure, failureReason } from "../lib/failures.ts";
import { fetchTicketForIntake } from "../lib/hubspot/tickets.ts";
import { applyTriage, loadTriageContext } from "../lib/intake/apply.ts";
import { enrichFromTicket } from "../lib/intake/enrich.ts";
import { triage } from "../lib/intake/triage.ts";
import { costUsd, priceFor } from "../lib/llm/cost.ts";
import { meterKey, recordUsage } from "../lib/llm/meter.ts";
import { publish } from "../lib/outbox/publish.ts";
import { taskMovedOn } from "../lib/tasks/errors.ts";
import { readTaskSource } from "../lib/tasks/read.ts";
import { type ReadyFrom, recordRetriageFailure } from "../lib/tasks/retriage.ts";
import { transition } from "../lib/tasks/transition.ts";
import { inngest } from "./client.ts";

export const intake = inngest.createFunction(
  {
    id: "intake",
    name: "Enrich and triage a submitted task",
    retries: 4,
    idempotency: "event.data.taskId",
    triggers: [taskSubmitted],
    // Out of retries (HubSpot down or refusing for longer than the backoff, say): the task must not
    // sit in intake unseen — the idempotency above drops a re-send for 24 hours — so it goes to
    // triage with the failure's class, where notify tells a person and Retry sends it on.
    onFailure: async ({ event, error, step, deps }) => {
      const { taskId } = event.data.event.data as { taskId: string };
      return step.run("to-triage-after-failure", async () => {
        const cls = classifyFailure(error);
        const moved = await transition(deps.db, {
          taskId,
          from: "intake",
          to: "failed_needs_triage",
          key: `intake-failed:${event.data.run_id}`,
          reason: failureReason(cls, `intake failed after its retries: ${error.message.slice(0, 300)}`),
          actor: "fn:intake",
        }).catch((err: unknown) => {
          // Triaged and moved on before the failure (or moved by a person): nothing to do.
          if (taskMovedOn(err)) return undefined;
          throw err;
        });
        await publish(deps, moved?.outbox ?? []);
        return { triaged: moved !== undefined, class: cls };
      });
    },
  },
  async ({ event, step, deps, runId, attempt }) =>
    runIntake({ step, deps, runId, attempt }, { taskId: event.data.taskId, source: event.data.source }),
);

type Ctx = Parameters<Parameters<typeof inngest.createFunction>[1]>[0];

/** What one intake run works on; `retry` when it is a retriage (functions/retriage.ts). */
export interface IntakeJob {
  taskId: string;
  source: "api" | "hubspot" | "agent" | "schedule";
  retry?: { from: ReadyFrom; reason: string };
}

/**
 * Intake's steps, shared by intake and retriage: enrich from the ticket, triage, move to ready. In a
 * retriage the task waits where the person retried it from, and a failure to triage it again is a note
 * with the new reason (it is already failed or blocked), not a move.
 */
export async function runIntake(
  { step, deps, runId, attempt }: Pick<Ctx, "step" | "deps" | "runId"> & { attempt?: number },
  job: IntakeJob,
) {
  const { taskId, retry } = job;
  const from = retry?.from ?? "intake";

  if (job.source === "hubspot") {
    const enriched = await step.run("enrich-from-hubspot", async () => {
      if (!deps.hubspot)
        return { skipped: "HUBSPOT_ACCESS_TOKEN is not set; triaging the task as submitted" };
      const source = await readTaskSource(deps.db, taskId);
      if (!source?.sourceRef) return { skipped: "the task has no ticket reference" };
      try {
        const ticket = await fetchTicketForIntake(deps.hubspot, source.sourceRef);
        // Foreman's own ticket for another task (its creation webhook came back before the link
        // was on record): that task is the work, this one is an echo.
        if (ticket.taskId && ticket.taskId !== taskId) {
          return { elsewhere: `ticket ${ticket.id} is foreman's own ticket for task ${ticket.taskId}` };
        }
        const watched = deps.config.HUBSPOT_PIPELINE_ID;
        // Creation webhooks carry no pipeline, so the watched pipeline is checked here.
        if (watched && ticket.pipeline !== watched) {
          return {
            elsewhere: `ticket ${ticket.id} is in pipeline ${ticket.pipeline ?? "?"}, not ${watched}`,
          };
        }
        return { enriched: await enrichFromTicket(deps.db, taskId, ticket, from) };
      } catch (err) {
        // A missing ticket or refused credentials will not heal by retrying: triage it.
        if (isDomainError(err) && (err.code === "NOT_FOUND" || err.code === "UNAUTHORIZED")) {
          return {
            failed: { class: err.code === "NOT_FOUND" ? "external_api" : "auth", message: err.message },
          };
        }
        throw err;
      }
    });
    if ("elsewhere" in enriched && enriched.elsewhere) {
      const why = enriched.elsewhere;
      await step.run("withdraw", async () => {
        const r = await transition(deps.db, {
          taskId,
          to: "cancelled",
          key: `${runId}:withdraw`,
          reason: `not a new ticket to work: ${why}`,
          actor: "fn:intake",
        });
        await publish(deps, r.outbox);
      });
      return { state: "cancelled", reason: why };
    }
    if ("failed" in enriched && enriched.failed) {
      const failure = enriched.failed;
      const reason = `${failure.class}: ${failure.message}`;
      await step.run("to-triage", async () => {
        if (retry) {
          const failed = await recordRetriageFailure(deps.db, {
            taskId,
            from: retry.from,
            key: `${runId}:to-triage`,
            reason,
          });
          await publish(deps, failed.outbox);
          return;
        }
        const r = await transition(deps.db, {
          taskId,
          to: "failed_needs_triage",
          key: `${runId}:to-triage`,
          reason,
          actor: "fn:intake",
        });
        await publish(deps, r.outbox);
      });
      return { state: retry ? retry.from : "failed_needs_triage", class: failure.class };
    }
  }

  const context = await step.run("load-task", () => loadTriageContext(deps.db, taskId, from));
  if (!context) throw new NonRetriableError(`Task ${taskId} does not exist.`);
  if ("skip" in context)
    return {
      state: "skipped",
      reason: retry
        ? `the task is ${context.skip}, no longer an untriaged ${from} task`
        : `the task is ${context.skip}, not in intake`,
    };

  const verdict = await step.run("triage", async () => {
    const outcome = await triage(deps.local, context);
    // Every token is metered, the router's too (the local tier at its GPU price), once per run.
    if (outcome.metered) {
      const { model } = outcome.metered;
      const usage = { ...outcome.metered.usage, cacheRead: 0, cacheWrite: 0 };
      await recordUsage(
        deps.db,
        {
          provider: "bridge",
          model,
          tier: "local",
          usage,
          costUsd: costUsd(usage, priceFor(model, "local", deps.config.MODEL_PRICES)),
        },
        {
          key: meterKey(`${runId}:triage`, attempt),
          purpose: "triage",
          taskId,
          projectId: context.project.id,
        },
      );
    }
    return outcome;
  });

  return step.run("apply-triage", async () => {
    const outcome = await applyTriage(deps.db, taskId, verdict, `${runId}:apply-triage`, retry);
    if (outcome.state === "ready" || outcome.state === "failed_needs_triage")
      await publish(deps, outcome.transition.outbox);
    return {
      state: outcome.state,
      via: verdict.via,
      reason: outcome.state === "ready" ? verdict.verdict.reason : outcome.reason,
    };
  });
}
