// The task API: submit (intake, synchronously in the database, then `task/submitted`), list with
// filters and cursor pagination, and one task with its dependency states and event timeline.
import { Hono } from "hono";
import { ZodError } from "zod";
import { allowedActions } from "../../lib/admin/actions.ts";
import { DomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { addNote } from "../../lib/tasks/note.ts";
import { getTask, listTasks } from "../../lib/tasks/read.ts";
import { submitShared } from "../../lib/tasks/submit-batcher.ts";
import { actorOf } from "../actor.ts";
import type { AppEnv } from "../env.ts";
import { zodErrorResponse } from "../errors.ts";
import { readIdempotencyKey, readJson } from "../json-body.ts";
import { presentEvent, presentTask } from "../present.ts";
import { publishForAnswer } from "../publish.ts";

export const tasksRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const deps = c.get("deps");
    const key = readIdempotencyKey(c.req.raw);
    const actor = actorOf(c.req.raw);
    const body = await readJson(c.req.raw);
    const { task, created, outbox } = await submitShared(deps.db, body, {
      source: "api",
      sourceRef: key,
      actor,
    });
    // The task and its `task/submitted` row are committed together; sending now is the fast path. If
    // the engine is unreachable the row stays in the outbox and the drain delivers it later.
    const warnings = await publishForAnswer(c, outbox);
    const headers: Record<string, string> = { location: `/api/tasks/${task.id}` };
    if (!created) headers["idempotent-replayed"] = "true";
    return c.json(
      { task: presentTask(task), ...(warnings.length ? { warnings } : {}) },
      created ? 201 : 200,
      headers,
    );
  })
  .get("/", async (c) => {
    try {
      const { tasks, nextCursor } = await listTasks(c.get("deps").db, c.req.query());
      return c.json({ tasks: tasks.map(presentTask), next_cursor: nextCursor });
    } catch (err) {
      if (err instanceof ZodError) return zodErrorResponse(c, err, "query.");
      throw err;
    }
  })
  .post("/:id/notes", async (c) => {
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id))
      throw new DomainError("NOT_FOUND", `Task ${id} does not exist.`, { field: "id" });
    const note = await addNote(c.get("deps").db, id, await readJson(c.req.raw), actorOf(c.req.raw));
    return c.json({ note: { event_id: note.eventId, at: note.at } }, 201);
  })
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id)) {
      throw new DomainError("NOT_FOUND", `Task ${id} does not exist.`, { field: "id" });
    }
    let found: Awaited<ReturnType<typeof getTask>>;
    try {
      found = await getTask(c.get("deps").db, id, c.req.query());
    } catch (err) {
      if (err instanceof ZodError) return zodErrorResponse(c, err, "query.");
      throw err;
    }
    return c.json({
      task: presentTask(found.task),
      // What an operator can do with it now (POST /api/tasks/:id/<action>; lib/admin/actions.ts).
      allowed_actions: allowedActions(found.task.status),
      depends_on: found.dependsOn,
      // Newest first; pass `events_before=<timeline_next_cursor>` for the page before.
      timeline: found.timeline.map(presentEvent),
      timeline_next_cursor: found.timelineNextCursor,
      review_history: {
        reviews: found.reviewHistory.reviews.map((r) => ({
          revision: r.revision,
          verdict: r.verdict,
          score: r.score,
          feedback: r.feedback,
          criteria: r.criteria,
          model: r.model,
          deliverable_hash: r.deliverableHash,
          at: r.at,
        })),
        stamps: found.reviewHistory.stamps.map((s) => ({
          stage: s.stage,
          decision: s.decision,
          by: s.actor,
          via: s.channel,
          note: s.note,
          deliverable_hash: s.deliverableHash,
          at: s.at,
        })),
        human_revisions: found.reviewHistory.humanRevisions,
        auto_revisions: found.task.revisionCount,
      },
      usage: {
        calls: found.usage.calls,
        tokens_in: found.usage.tokensIn,
        tokens_out: found.usage.tokensOut,
        cache_read_tokens: found.usage.cacheReadTokens,
        cache_write_tokens: found.usage.cacheWriteTokens,
        cost_usd: found.usage.costUsd,
      },
    });
  });
