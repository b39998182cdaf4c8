// POST /api/tasks/:id/stamps: a human decision through the API (bearer auth; recorded as an API stamp
// by the token's owner) — how a dry-run rehearsal, or an operator, stamps without Slack or a link.
import { Hono } from "hono";
import { z } from "zod";
import { DomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { applyStamp } from "../../lib/stamps/apply.ts";
import { text } from "../../lib/text.ts";
import { personOf } from "../actor.ts";
import type { AppEnv } from "../env.ts";
import { readIdempotencyKey, readJson } from "../json-body.ts";
import { publishForAnswer } from "../publish.ts";

const stampBody = z.strictObject({
  stage: z.enum(["internal", "client"]),
  decision: z.enum(["approve", "request_changes", "reject"]),
  deliverable_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, "must be the deliverable's sha-256 hash (64 hex digits)"),
  note: text({ trim: true, max: 3000, multiline: true }).optional(),
});

export const stampRoutes = new Hono<AppEnv>().post("/:id/stamps", async (c) => {
  const deps = c.get("deps");
  const id = c.req.param("id");
  if (!ID_PATTERN.test(id)) throw new DomainError("NOT_FOUND", `Task ${id} does not exist.`, { field: "id" });
  const key = readIdempotencyKey(c.req.raw);
  const body = stampBody.parse(await readJson(c.req.raw));
  if (body.decision === "request_changes" && !body.note) {
    throw new DomainError("VALIDATION", "Say what to change: a note is required with request_changes.", {
      field: "note",
    });
  }
  const applied = await applyStamp(deps.db, {
    taskId: id,
    stage: body.stage,
    decision: body.decision,
    deliverableHash: body.deliverable_hash,
    channel: "api",
    // The stamp names the person behind the token; its events read `api:<person>` like every command's.
    actor: personOf(c.req.raw) ?? "api",
    sourceRef: key ?? crypto.randomUUID(),
    ...(body.note ? { note: body.note } : {}),
  });
  const warnings = await publishForAnswer(c, applied.transition.outbox);
  return c.json(
    {
      stamp: { id: applied.stampId, replayed: applied.transition.replayed },
      task: { id, state: applied.transition.to },
      ...(warnings.length ? { warnings } : {}),
    },
    applied.transition.replayed ? 200 : 201,
  );
});
