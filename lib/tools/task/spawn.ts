// task_spawn_subtask → lib/tasks/spawn.ts: the subtask joins the DAG under this task (same project and
// plan; the parent waits for it) behind the in-database cycle check. The key is the call's step key,
// so a retried step gets the same subtask back instead of a second one.
import { z } from "zod";
import { spawnSubtask } from "../../tasks/spawn.ts";
import { text } from "../../text.ts";
import { data, defineTool } from "../contract.ts";

export const spawnSubtaskTool = defineTool({
  name: "task_spawn_subtask",
  description:
    "Split off a subtask. It is queued and worked like any task. This task waits for it: if you call `submit` while a subtask is still open, this run ends without handing in, and a new run continues the work once every subtask is done, with their results in the dossier.",
  sideEffect: false,
  input: z.strictObject({
    title: text({ trim: true, min: 1, max: 200 }),
    description: text({ max: 20_000, multiline: true }).optional(),
    rubric: z
      .array(text({ trim: true, min: 1, max: 500 }))
      .max(20)
      .optional()
      .describe("The subtask's checklist: what its reviewer checks."),
  }),
  run: async (ctx, input) => {
    const spawned = await spawnSubtask(ctx.db, {
      parentId: ctx.taskId,
      title: input.title,
      ...(input.description === undefined ? {} : { description: input.description }),
      ...(input.rubric === undefined ? {} : { rubric: input.rubric }),
      actor: ctx.actor,
      key: ctx.key,
    });
    // Its task/submitted is committed with it: send it now, so intake starts without waiting for the drain.
    await ctx.send(spawned.outbox);
    return data({ subtaskId: spawned.task.id, status: spawned.task.status, created: spawned.created });
  },
});
