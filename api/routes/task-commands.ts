// The operator's commands on one task (bearer auth, under /api/tasks/:id): retry, skip, unblock and
// cancel — each ONE transition through the state machine — and reassign (the worker, not the state).
// Every command is audited by its own event, naming the caller (`api`, or `api:<Foreman-Actor>`) and
// the reason; an `Idempotency-Key` makes a repeat return the first result. A command on a task in the
// wrong state is a 409 with the task's state and the commands that do apply (lib/admin/actions.ts).
// A retry or unblock of a task intake never triaged is a 202: it is triaged again first.
import { type Context, Hono } from "hono";
import { allowedActions, type MovingAction } from "../../lib/admin/actions.ts";
import { DomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { applyTaskCommand, commandBody } from "../../lib/tasks/command.ts";
import { readDependents } from "../../lib/tasks/dependents.ts";
import { reassignBody, reassignTask } from "../../lib/tasks/reassign.ts";
import { actorOf } from "../actor.ts";
import type { AppEnv } from "../env.ts";
import { readIdempotencyKey, readJson, readOptionalJson } from "../json-body.ts";
import { publishForAnswer } from "../publish.ts";

function taskIdOf(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!ID_PATTERN.test(id)) throw new DomainError("NOT_FOUND", `Task ${id} does not exist.`, { field: "id" });
  return id;
}

const moving = (action: MovingAction) => async (c: Context<AppEnv>) => {
  const deps = c.get("deps");
  const taskId = taskIdOf(c);
  const header = readIdempotencyKey(c.req.raw);
  const actor = actorOf(c.req.raw);
  const body = commandBody.parse(await readOptionalJson(c.req.raw));
  const r = await applyTaskCommand(deps.db, {
    taskId,
    action,
    // Prefixed by the command, so one key reused for two commands never collides with itself.
    key: `api:${action}:${header ?? crypto.randomUUID()}`,
    actor,
    reason: body.reason,
  });
  if (r.kind === "retriage") {
    // Accepted, not done: the task stays where it is until intake has triaged it.
    const q = r.retriage;
    const warnings = await publishForAnswer(c, q.outbox);
    return c.json(
      {
        task: { id: taskId, state: q.state, version: q.version, reason: q.reason },
        retriage: {
          event_id: q.eventId,
          at: q.at,
          actor: q.actor,
          reason: q.reason,
          replayed: q.replayed,
          why: "intake never triaged this task: it is enriched and triaged again first, then goes to ready",
        },
        allowed_actions: allowedActions(q.state),
        ...(warnings.length > 0 ? { warnings } : {}),
      },
      202,
      q.replayed ? { "idempotent-replayed": "true" } : {},
    );
  }
  const tr = r.transition;
  const warnings = await publishForAnswer(c, tr.outbox);
  const answer: Record<string, unknown> = {
    task: { id: taskId, state: tr.to, version: tr.version, reason: tr.reason },
    transition: {
      from: tr.from,
      to: tr.to,
      event_id: tr.eventId,
      at: tr.at,
      actor: tr.actor,
      reason: tr.reason,
      replayed: tr.replayed,
    },
    allowed_actions: allowedActions(tr.to),
  };
  if (action === "skip") {
    // Read after the commit: the dependents whose last dependency this was, and those still waiting.
    const dependents = await readDependents(deps.db, taskId);
    answer.skipped = true;
    answer.unblocks = dependents
      .filter((d) => d.unblocked)
      .map((d) => ({ id: d.id, title: d.title, state: d.state, triaged: d.triaged }));
    answer.still_waiting = dependents
      .filter((d) => !d.unblocked && d.waitingOn.length > 0)
      .map((d) => ({ id: d.id, title: d.title, state: d.state, waiting_on: d.waitingOn }));
  }
  if (warnings.length > 0) answer.warnings = warnings;
  return c.json(answer, 200, tr.replayed ? { "idempotent-replayed": "true" } : {});
};

export const taskCommandRoutes = new Hono<AppEnv>()
  .post("/:id/retry", moving("retry"))
  .post("/:id/skip", moving("skip"))
  .post("/:id/unblock", moving("unblock"))
  .post("/:id/cancel", moving("cancel"))
  .post("/:id/reassign", async (c) => {
    const deps = c.get("deps");
    const taskId = taskIdOf(c);
    const header = readIdempotencyKey(c.req.raw);
    const actor = actorOf(c.req.raw);
    const body = reassignBody.parse(await readJson(c.req.raw));
    const r = await reassignTask(deps.db, {
      taskId,
      workerId: body.worker,
      key: `api:reassign:${header ?? crypto.randomUUID()}`,
      actor,
      reason: body.reason,
    });
    const warnings = await publishForAnswer(c, r.outbox);
    return c.json(
      {
        task: { id: taskId, state: r.state, version: r.version, worker: r.to },
        reassignment: {
          from: r.from,
          to: r.to,
          changed: r.changed,
          event_id: r.eventId,
          at: r.at,
          replayed: r.replayed,
        },
        allowed_actions: allowedActions(r.state),
        ...(warnings.length > 0 ? { warnings } : {}),
      },
      200,
      r.replayed ? { "idempotent-replayed": "true" } : {},
    );
  });
