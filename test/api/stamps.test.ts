// Human stamps through the API: each decision moves the task as the design says, the first decision
// wins and a later one is told who decided, a stamp for a superseded version is refused, a repeated
// click (same key) is the same stamp; and a client approval finishes the task and promotes its
// dependents — a rehearsal can run to done without Slack.
import { and, eq, isNull, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { outbox, stamps, taskDependencies, taskEvents, tasks } from "../../db/schema/index.ts";
import { applyStamp } from "../../lib/stamps/apply.ts";
import { promoteDependents } from "../../lib/tasks/promote.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { freshKey, insertTask } from "../fixtures.ts";

const t = useTestDb();
type Json = Record<string, any>;
const HASH = "a".repeat(64);
const OLD = "b".repeat(64);

async function waiting(status: "awaiting_client_review" | "awaiting_internal_review") {
  return insertTask(t.current.db, { status, deliverableHash: HASH });
}
const stamp = (api: ReturnType<typeof testApp>, id: string, json: unknown, key?: string) =>
  api.request(`/api/tasks/${id}/stamps`, {
    method: "POST",
    json,
    ...(key ? { headers: { "idempotency-key": key } } : {}),
  });
const statusOf = async (id: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;

describe("POST /api/tasks/:id/stamps", () => {
  it("moves the task as each decision says, recording the stamp and owing task/stamped", async () => {
    const api = testApp(t.current.db);
    const cases = [
      ["awaiting_internal_review", "internal", "approve", "awaiting_client_review"],
      ["awaiting_client_review", "client", "approve", "done"],
      ["awaiting_client_review", "client", "request_changes", "ready"],
      ["awaiting_internal_review", "internal", "reject", "cancelled"],
    ] as const;
    for (const [from, stage, decision, to] of cases) {
      const task = await waiting(from);
      const res = await stamp(api, task.id, {
        stage,
        decision,
        deliverable_hash: HASH,
        note: "please fix the label",
      });
      expect(res.status, `${stage} ${decision}`).toBe(201);
      expect(await statusOf(task.id)).toBe(to);
      const [row] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id));
      expect(row).toMatchObject({ stage, decision, channel: "api", deliverableHash: HASH });
    }
    expect(api.events.sent.filter((e) => e.name === "task/stamped")).toHaveLength(4);
  });

  it("lets the first decision win and tells the second who decided", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    expect(
      (await stamp(api, task.id, { stage: "client", decision: "approve", deliverable_hash: HASH })).status,
    ).toBe(201);
    const late = await stamp(api, task.id, { stage: "client", decision: "reject", deliverable_hash: HASH });
    expect(late.status).toBe(409);
    expect(((await late.json()) as Json).error.message).toMatch(
      /^Already decided: api:api moved this task to 'done' at /,
    );
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id))).toHaveLength(1);
  });

  it("refuses a stamp for a superseded version, saying why, and changes nothing", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    const res = await stamp(api, task.id, { stage: "client", decision: "approve", deliverable_hash: OLD });
    expect(res.status).toBe(409);
    expect(((await res.json()) as Json).error).toMatchObject({
      field: "deliverable_hash",
      message: expect.stringContaining("older version"),
    });
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    // Nothing changed, and the refusal is in the task's log.
    const log = await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(log.map((e) => [e.kind, e.actor])).toEqual([["refusal", "api:api"]]);
  });

  it("treats a repeated request with the same key as the same stamp", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    const body = { stage: "client", decision: "approve", deliverable_hash: HASH };
    expect((await stamp(api, task.id, body, "click-1")).status).toBe(201);
    const again = await stamp(api, task.id, body, "click-1");
    expect(again.status).toBe(200);
    expect(((await again.json()) as Json).stamp.replayed).toBe(true);
  });

  it("refuses a key reused for a later round's decision (409 naming the key) instead of answering the old one", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_internal_review");
    const changes = { decision: "request_changes", deliverable_hash: HASH, note: "tighten it" };
    expect((await stamp(api, task.id, { stage: "internal", ...changes }, "ops-key")).status).toBe(201);
    // Revised and approved inside since; the client's change request comes with the same key.
    await t.current.db.update(tasks).set({ status: "awaiting_client_review" }).where(eq(tasks.id, task.id));
    const reused = await stamp(api, task.id, { stage: "client", ...changes }, "ops-key");
    expect(reused.status).toBe(409);
    const error = ((await reused.json()) as Json).error;
    expect(error).toMatchObject({ field: "Idempotency-Key", details: { reason: "key_reused" } });
    expect(error.message).toContain("The key 'ops-key' was already used for another decision");
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
  });

  it("refuses a key reused for the same stage's decision in the next round (another version), changing nothing", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_internal_review");
    const changes = { stage: "internal", decision: "request_changes", note: "tighten it" };
    expect((await stamp(api, task.id, { ...changes, deliverable_hash: HASH }, "ops-key")).status).toBe(201);
    // Revised: the worker hands in a new version, which comes back to the internal stage.
    const NEW = "c".repeat(64);
    await t.current.db
      .update(tasks)
      .set({ status: "awaiting_internal_review", deliverableHash: NEW })
      .where(eq(tasks.id, task.id));
    const reused = await stamp(api, task.id, { ...changes, deliverable_hash: NEW }, "ops-key");
    expect(reused.status).toBe(409);
    const error = ((await reused.json()) as Json).error;
    expect(error).toMatchObject({ field: "Idempotency-Key", details: { reason: "key_reused" } });
    expect(error.message).toContain("on an earlier version of the work");
    expect(await statusOf(task.id)).toBe("awaiting_internal_review");
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id))).toHaveLength(1);
    const log = await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id));
    expect(log.filter((e) => e.kind === "refusal")).toHaveLength(1);
    // The true repeat of the first request is still its replay.
    const repeat = await stamp(api, task.id, { ...changes, deliverable_hash: HASH }, "ops-key");
    expect(repeat.status).toBe(200);
  });

  it("refuses a key reused in the stage's next round on byte-identical work, instead of answering the old decision", async () => {
    const db = t.current.db;
    const api = testApp(db);
    const task = await waiting("awaiting_internal_review");
    const changes = {
      stage: "internal",
      decision: "request_changes",
      note: "tighten it",
      deliverable_hash: HASH,
    };
    expect((await stamp(api, task.id, changes, "round-key")).status).toBe(201);
    // Worked again, the very same bytes handed in, and back at the internal stage: a new round.
    for (const to of ["working", "awaiting_internal_review"] as const)
      await transition(db, { taskId: task.id, to, key: freshKey(), actor: "test" });
    const reused = await stamp(api, task.id, changes, "round-key");
    expect(reused.status).toBe(409);
    const error = ((await reused.json()) as Json).error;
    expect(error).toMatchObject({ field: "Idempotency-Key", details: { reason: "key_reused" } });
    expect(error.message).toContain("in an earlier round of this stage");
    expect(error.message).toContain("If this repeats that request, it took effect then.");
    expect(await statusOf(task.id)).toBe("awaiting_internal_review");
  });

  it("a CRM stamp retried after a revision is its own replay (the CRM channel reads the hash at each attempt)", async () => {
    const task = await waiting("awaiting_client_review");
    const input = {
      taskId: task.id,
      stage: "client" as const,
      decision: "request_changes" as const,
      channel: "crm" as const,
      actor: "hubspot-portal-1-user-7",
      sourceRef: "hubspot:62515:1:9:1:1:hs_pipeline_stage",
      note: "the ticket was moved back to Ready in HubSpot",
    };
    const first = await applyStamp(t.current.db, { ...input, deliverableHash: HASH });
    expect(first.transition.replayed).toBe(false);
    // The step's answer was lost; before its retry the worker handed in a new version.
    const NEW = "d".repeat(64);
    await t.current.db
      .update(tasks)
      .set({ status: "awaiting_client_review", deliverableHash: NEW })
      .where(eq(tasks.id, task.id));
    const retried = await applyStamp(t.current.db, { ...input, deliverableHash: NEW });
    expect(retried).toMatchObject({ stampId: first.stampId, transition: { replayed: true } });
  });

  it("names the person behind the token, and warns when task/stamped could not be sent yet", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    api.events.failWith = new Error("fetch failed");
    const res = await api.request(`/api/tasks/${task.id}/stamps`, {
      method: "POST",
      json: { stage: "client", decision: "approve", deliverable_hash: HASH },
      headers: { "foreman-actor": "alice" },
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Json;
    expect(body.warnings).toEqual([
      "task/state.changed, task/stamped are queued: the engine is unreachable (fetch failed); re-sent automatically.",
    ]);
    const [row] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id));
    expect(row?.actor).toBe("alice");
    const log = await t.current.db
      .select()
      .from(taskEvents)
      .where(eq(taskEvents.taskId, task.id))
      .orderBy(taskEvents.id);
    expect(log.find((e) => e.kind === "state_changed")?.actor).toBe("api:alice");
    // The row waits in the outbox for the drain.
    const pending = await t.current.db
      .select()
      .from(outbox)
      .where(
        and(
          eq(outbox.name, "task/stamped"),
          isNull(outbox.sentAt),
          sql`${outbox.data}->>'taskId' = ${task.id}`,
        ),
      );
    expect(pending).toHaveLength(1);
  });

  it("keeps one client's key apart on two tasks: each is its own stamp", async () => {
    const api = testApp(t.current.db);
    const a = await waiting("awaiting_client_review");
    const b = await waiting("awaiting_client_review");
    const body = { stage: "client", decision: "approve", deliverable_hash: HASH };
    expect((await stamp(api, a.id, body, "same-key")).status).toBe(201);
    expect((await stamp(api, b.id, body, "same-key")).status).toBe(201);
    expect([await statusOf(a.id), await statusOf(b.id)]).toEqual(["done", "done"]);
  });

  it("refuses bad input and unknown tasks, and needs a note to request changes", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    for (const [json, field] of [
      [{ stage: "client", decision: "approve", deliverable_hash: "short" }, "deliverable_hash"],
      [{ stage: "boss", decision: "approve", deliverable_hash: HASH }, "stage"],
      [{ stage: "client", decision: "request_changes", deliverable_hash: HASH }, "note"],
    ] as const) {
      const res = await stamp(api, task.id, json);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).error).toMatchObject({ field });
    }
    expect(
      (
        await stamp(api, "task_0000000000aaaaaaaaaaaaaaaa", {
          stage: "client",
          decision: "approve",
          deliverable_hash: HASH,
        })
      ).status,
    ).toBe(404);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    const unauth = await api.request(`/api/tasks/${task.id}/stamps`, {
      method: "POST",
      json: {},
      token: null,
    });
    expect(unauth.status).toBe(401);
  });

  it("finishes the task on the client's approval, and its dependents move on", async () => {
    const api = testApp(t.current.db);
    const task = await waiting("awaiting_client_review");
    const dependent = await insertTask(t.current.db, { status: "intake", triagedAt: new Date() });
    await t.current.db.insert(taskDependencies).values({ taskId: dependent.id, dependsOnId: task.id });
    await stamp(api, task.id, { stage: "client", decision: "approve", deliverable_hash: HASH });
    await promoteDependents(t.current.db, task.id, { actor: "fn:promote", keyBase: "test" });
    expect(await statusOf(dependent.id)).toBe("ready");
  });
});
