// crm-push's verb: one batch of tasks (≤ 100), re-read — the state at write time, not at request
// time, so the batch converges whatever order requests came in — and written in as few calls as
// HubSpot allows: known tickets in one batch update (one PATCH when alone), lost creates by task_id,
// new tickets in one batch create. Each call's rows are recorded before the next call, so a 429 or
// 5xx part-way (thrown, retried by Inngest after HubSpot's delay) redoes only what is left; a row
// HubSpot refuses is recorded with a triage note and not retried at that version.
import { DomainError, isDomainError } from "../errors.ts";
import { loadSetupMapping } from "../hubspot/setup-mapping.ts";
import { MAX_BATCH } from "./flow.ts";
import {
  loadSyncStates,
  markCreateAttempted,
  markLinksOwed,
  type Refused,
  recordRefused,
  recordSynced,
  recordWouldDo,
  type Synced,
  type SyncState,
} from "./links.ts";
import { closePushOutage } from "./outage.ts";
import { asCreate, type TicketWrite } from "./plan.ts";
import { NO_SETUP, planOf, rowOf, type SyncDeps } from "./sync.ts";
import { createMany, type RowOutcome, updateMany, writeOne } from "./tickets.ts";
import { wouldDo } from "./would-do.ts";

export interface PushSummary {
  tasks: number;
  synced: number;
  created: number;
  refused: number;
  wouldDo: number;
  inStep: number;
  /** HubSpot calls made by this attempt. */
  calls: number;
  skipped?: string;
}

interface Pending {
  state: SyncState;
  write: TicketWrite;
}

/** crm-push: one batch of tasks (≤ 100), written in as few calls as HubSpot allows. */
export async function pushBatch(deps: SyncDeps, taskIds: string[]): Promise<PushSummary> {
  const ids = [...new Set(taskIds)];
  const summary: PushSummary = {
    tasks: ids.length,
    synced: 0,
    created: 0,
    refused: 0,
    wouldDo: 0,
    inStep: 0,
    calls: 0,
  };
  const mapping = await loadSetupMapping(deps.db);
  if (!mapping) return { ...summary, skipped: NO_SETUP };
  const states = await loadSyncStates(deps.db, ids);

  const updates: Pending[] = [];
  const adopts: Pending[] = [];
  const creates: Pending[] = [];
  const dry: { state: SyncState; write: TicketWrite }[] = [];
  for (const s of states) {
    const plan = planOf(deps, s, mapping);
    if (plan.kind === "in_step" || plan.kind === "refused" || plan.kind === "not_ours") summary.inStep++;
    else if (plan.kind === "would_do") dry.push({ state: s, write: plan.write });
    else if (plan.write.via === "id") updates.push({ state: s, write: plan.write });
    else if (plan.write.via === "task_id") adopts.push({ state: s, write: plan.write });
    else creates.push({ state: s, write: plan.write });
  }
  // Dry-run can be switched on between the request and the push: still nothing is sent.
  if (dry.length > 0) {
    const rows = await Promise.all(
      dry.map(async (d) => ({
        taskId: d.state.task.id,
        eventId: d.state.task.lastEventId,
        request: await wouldDo(rowOf(d.state, d.write)),
      })),
    );
    await recordWouldDo(deps.db, rows);
    summary.wouldDo = rows.length;
  }
  if (updates.length + adopts.length + creates.length === 0) return summary;
  const client = deps.hubspot;
  if (!client) return { ...summary, skipped: "HUBSPOT_ACCESS_TOKEN is not set: tickets cannot be written" };

  const retryLater: string[] = [];
  /** Records one call's rows; what HubSpot's answer sends elsewhere comes back (create it, or adopt it). */
  const settle = async (batch: Pending[], outcomes: RowOutcome[], at: number, via: Synced["via"]) => {
    const byTask = new Map(batch.map((p) => [p.state.task.id, p]));
    const synced: Synced[] = [];
    const refused: Refused[] = [];
    const next: Pending[] = [];
    for (const o of outcomes) {
      const p = byTask.get(o.taskId);
      if (!p) continue;
      const { task } = p.state;
      if (o.ok) {
        synced.push({
          taskId: task.id,
          ticketId: o.ticketId,
          pipelineId: mapping.pipelineId,
          state: task.status,
          stageId: mapping.stageIds[task.status],
          eventId: task.lastEventId,
          at,
          created: o.created,
          via,
        });
      } else if (o.retryable) {
        retryLater.push(task.id);
      } else if (p.write.via === "task_id" && o.category === "OBJECT_NOT_FOUND") {
        // The create whose answer was lost never landed after all: create the ticket now.
        next.push({ state: p.state, write: asCreate(p.state.task, p.write.properties) });
      } else if (p.write.via === "create" && o.category === "CONFLICT") {
        // A ticket already carries this task_id (an earlier create did land): write to that one.
        next.push({ state: p.state, write: { via: "task_id", properties: p.write.properties } });
      } else {
        refused.push({
          taskId: task.id,
          version: task.version,
          ticketId: p.write.via === "id" ? p.write.ticketId : null,
          category: o.category,
          message: o.message,
        });
      }
    }
    await recordSynced(deps.db, synced);
    await recordRefused(deps.db, refused);
    summary.synced += synced.filter((x) => !x.created).length;
    summary.created += synced.filter((x) => x.created).length;
    summary.refused += refused.length;
    return next;
  };

  /** One call per ≤ 100 rows (a single row goes to the single-object endpoint); a batch refused as a
   *  whole (a 400 for the call, not per row) is retried row by row to find the row HubSpot refuses. */
  const send = async (batch: Pending[], many: typeof updateMany): Promise<Pending[]> => {
    const next: Pending[] = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) {
      const chunk = batch.slice(i, i + MAX_BATCH);
      const at = deps.now().getTime();
      summary.calls++;
      let outcomes: RowOutcome[];
      if (chunk.length === 1) {
        const p = chunk[0] as Pending;
        outcomes = [await writeOne(client, rowOf(p.state, p.write))];
      } else {
        try {
          outcomes = await many(
            client,
            chunk.map((p) => rowOf(p.state, p.write)),
          );
        } catch (err) {
          if (!(isDomainError(err) && err.code === "VALIDATION")) throw err;
          deps.logger.warn("crm-push: batch refused whole; writing row by row", {
            rows: chunk.length,
            error: err.message,
          });
          outcomes = [];
          try {
            for (const p of chunk) {
              summary.calls++;
              outcomes.push(await writeOne(client, rowOf(p.state, p.write)));
            }
          } catch (rowErr) {
            // A 429 (or an outage) part-way: keep what was written, so the retry — which re-reads
            // every task — writes only the rest. Without this a chunk of 100 plus its refused batch
            // call outruns HubSpot's 100 per 10 s on every attempt and never gets through.
            await settle(chunk.slice(0, outcomes.length), outcomes, at, "single");
            throw rowErr;
          }
        }
      }
      next.push(...(await settle(chunk, outcomes, at, chunk.length === 1 ? "single" : "batch")));
    }
    return next;
  };
  // A task this batch writes for the first time (a ticket to create, or a HubSpot ticket to take into
  // the pipeline by its id) gets its link row before the first call — one statement, only when there
  // are such tasks: a run out of retries before its write went out (a 401, an outage on an earlier
  // call) must leave the task where the watchdog's drift check finds it.
  await markLinksOwed(
    deps.db,
    [...updates, ...adopts, ...creates].filter((p) => !p.state.link).map((p) => p.state.task.id),
  );
  const createAll = async (batch: Pending[]): Promise<Pending[]> => {
    if (batch.length === 0) return [];
    const ids = batch.map((p) => p.state.task.id);
    // Marked before the call, so a retry after a lost answer addresses the ticket by task_id; a 429
    // means HubSpot created nothing, so the mark is taken back (the link row stays).
    await markCreateAttempted(deps.db, ids, deps.now());
    try {
      return await send(batch, createMany);
    } catch (err) {
      if (isDomainError(err) && err.code === "RATE_LIMITED") await markCreateAttempted(deps.db, ids, null);
      throw err;
    }
  };
  const split = (batch: Pending[]) => ({
    byTaskId: batch.filter((p) => p.write.via === "task_id"),
    creates: batch.filter((p) => p.write.via === "create"),
  });

  const afterUpdates = split(await send(updates, updateMany));
  const afterAdopts = split(await send([...adopts, ...afterUpdates.byTaskId], updateMany));
  const afterCreates = split(await createAll([...creates, ...afterUpdates.creates, ...afterAdopts.creates]));
  // Creates that found their task_id taken: one more update by task_id. A ticket that is then not
  // found either (deleted in between) is not chased further: the task gets a note.
  const lost = await send(afterCreates.byTaskId, updateMany);
  await recordRefused(
    deps.db,
    lost.map((p) => ({
      taskId: p.state.task.id,
      version: p.state.task.version,
      ticketId: null,
      category: "OBJECT_NOT_FOUND",
      message: "a ticket with this task_id was reported to exist, then could not be found",
    })),
  );
  summary.refused += lost.length;
  if (summary.synced + summary.created > 0) {
    const closed = await closePushOutage(deps.db, deps.now());
    if (closed) {
      deps.logger.info("crm-push: HubSpot takes writes again; the outage is over", {
        since: closed.since,
        failures: closed.failures,
      });
    }
  }
  if (retryLater.length > 0) {
    throw new DomainError(
      "UPSTREAM",
      `HubSpot did not confirm the write of ${retryLater.length} ticket(s); retrying`,
      {
        details: { tasks: retryLater },
      },
    );
  }
  return summary;
}
