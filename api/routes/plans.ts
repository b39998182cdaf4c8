// The plan API: create a plan with its tasks and their dependency DAG (one transaction: the plan row,
// then every task, edge, event and outbox row in one statement; an Idempotency-Key repeat answers the
// same plan), and read a plan back with its tasks' states and edges. Auth and the body limit are applied to "/api/plans/*" in app.ts.
import { Hono } from "hono";
import { DomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { createPlan, type PlanRow } from "../../lib/plans/create.ts";
import { getPlan } from "../../lib/plans/read.ts";
import { actorOf } from "../actor.ts";
import type { AppEnv } from "../env.ts";
import { readIdempotencyKey, readJson } from "../json-body.ts";
import { presentTask } from "../present.ts";
import { publishForAnswer } from "../publish.ts";

const presentPlan = (p: PlanRow) => ({
  id: p.id,
  project: p.projectId,
  title: p.title,
  description: p.description,
  created_at: p.createdAt.toISOString(),
});

export const plansRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const deps = c.get("deps");
    const key = readIdempotencyKey(c.req.raw);
    const created = await createPlan(deps.db, await readJson(c.req.raw), { actor: actorOf(c.req.raw), key });
    // Committed with their `task/submitted` rows; sending now is the fast path, and if the engine is
    // unreachable the rows stay in the outbox for the drain.
    const warnings = await publishForAnswer(c, created.outbox);
    return c.json(
      {
        plan: presentPlan(created.plan),
        tasks: created.tasks.map(({ ref, task, dependsOn }) => ({
          ref,
          ...presentTask(task),
          depends_on: dependsOn,
        })),
        ...(warnings.length ? { warnings } : {}),
      },
      created.created ? 201 : 200,
      {
        location: `/api/plans/${created.plan.id}`,
        ...(created.created ? {} : { "idempotent-replayed": "true" }),
      },
    );
  })
  .get("/:id", async (c) => {
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id))
      throw new DomainError("NOT_FOUND", `Plan ${id} does not exist.`, { field: "id" });
    const { plan, tasks, edges } = await getPlan(c.get("deps").db, id);
    return c.json({
      plan: presentPlan(plan),
      tasks: tasks.map((t) => ({
        ...presentTask(t),
        depends_on: edges
          .filter((e) => e.taskId === t.id)
          .map((e) => ({ id: e.dependsOnId, state: e.dependsOnState })),
      })),
    });
  });
