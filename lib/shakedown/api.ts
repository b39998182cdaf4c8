// The shakedown's client for a running deployment: the few endpoints it needs (health, workers,
// plans, a task with its whole timeline, stamps), every answer parsed with zod so a deployment that
// answers something else fails loudly here instead of being misread. Errors are typed: an HTTP
// refusal carries the status and the API's error code, an unreachable server says so.
import { z } from "zod";
import { type StampStage, TASK_STATES } from "../states.ts";

export class ShakedownApiError extends Error {
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(message: string, opts: { status?: number; code?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "ShakedownApiError";
    this.status = opts.status;
    this.code = opts.code;
  }
}

const state = z.enum(TASK_STATES);

const health = z.object({
  status: z.string(),
  version: z.string(),
  dry_run: z.boolean(),
  inngest: z.string(),
  database: z.object({ driver: z.string() }),
});
export type Health = z.infer<typeof health>;

const workers = z.object({
  workers: z.array(z.object({ id: z.string(), slots: z.number().int(), active: z.boolean() })),
});

const planned = z.object({
  plan: z.object({ id: z.string() }),
  tasks: z.array(z.object({ ref: z.string(), id: z.string(), state })),
  warnings: z.array(z.string()).optional(),
});
export type PlannedTasks = z.infer<typeof planned>;

export const timelineEvent = z.object({
  id: z.number().int(),
  kind: z.string(),
  actor: z.string(),
  payload: z.unknown(),
  run_id: z.string().nullable(),
  at: z.string(),
});
export type TimelineEvent = z.infer<typeof timelineEvent>;

const taskPage = z.object({
  task: z.object({
    id: z.string(),
    title: z.string(),
    state,
    worker: z.string().nullable(),
    failure_class: z.string().nullable().optional(),
    dry_run: z.boolean(),
  }),
  timeline: z.array(timelineEvent),
  timeline_next_cursor: z.union([z.string(), z.number()]).nullable().optional(),
  review_history: z.object({
    stamps: z.array(z.object({ stage: z.string(), decision: z.string(), via: z.string() })),
  }),
});
export type TaskDocument = Omit<z.infer<typeof taskPage>, "timeline_next_cursor">;

const stamped = z.object({
  stamp: z.object({ id: z.string(), replayed: z.boolean() }),
  task: z.object({ id: z.string(), state }),
});

const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export interface PlanTaskInput {
  ref: string;
  title: string;
  description: string;
  rubric: string[];
  dry_run: boolean;
}

export type ShakedownApi = ReturnType<typeof shakedownApi>;

export function shakedownApi(opts: { url: string; token: string; fetch?: typeof fetch }) {
  const base = opts.url.replace(/\/+$/, "");
  const doFetch = opts.fetch ?? fetch;

  async function call<T>(
    schema: z.ZodType<T>,
    path: string,
    init: { method?: string; json?: unknown; headers?: Record<string, string>; auth?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json", ...init.headers };
    if (init.auth !== false) headers.authorization = `Bearer ${opts.token}`;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method: init.method ?? "GET",
        headers,
        ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
      });
    } catch (err) {
      throw new ShakedownApiError(`${base} is not reachable (${(err as Error).message}).`, { cause: err });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const refused = errorBody.safeParse(body);
      const why = refused.success
        ? `${refused.data.error.code}: ${refused.data.error.message}`
        : text.slice(0, 200);
      throw new ShakedownApiError(`${init.method ?? "GET"} ${path} answered ${res.status} (${why})`, {
        status: res.status,
        ...(refused.success ? { code: refused.data.error.code } : {}),
      });
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ShakedownApiError(
        `${init.method ?? "GET"} ${path} answered in an unexpected shape: ${parsed.error.issues
          .slice(0, 3)
          .map((i) => `${i.path.join(".")}: ${i.message}`)
          .join("; ")}`,
        { status: res.status },
      );
    }
    return parsed.data;
  }

  return {
    url: base,
    health: () => call(health, "/health", { auth: false }),
    workers: async () => (await call(workers, "/api/admin/workers")).workers,
    createPlan: (body: { title: string; project?: string; tasks: PlanTaskInput[] }) =>
      call(planned, "/api/plans", { method: "POST", json: body }),
    /** The task and its whole timeline, oldest event first (every page). */
    async task(id: string): Promise<TaskDocument> {
      const first = await call(taskPage, `/api/tasks/${encodeURIComponent(id)}?events_limit=500`);
      const events = [...first.timeline];
      for (let cursor = first.timeline_next_cursor; cursor !== null && cursor !== undefined; ) {
        const page = await call(
          taskPage,
          `/api/tasks/${encodeURIComponent(id)}?events_limit=500&events_before=${encodeURIComponent(String(cursor))}`,
        );
        events.push(...page.timeline);
        cursor = page.timeline_next_cursor;
      }
      const { timeline_next_cursor: _, ...doc } = first;
      return { ...doc, timeline: events.sort((a, b) => a.id - b.id) };
    },
    stamp: (
      id: string,
      body: { stage: StampStage; decision: "approve"; deliverable_hash: string; note?: string },
      key: string,
    ) =>
      call(stamped, `/api/tasks/${encodeURIComponent(id)}/stamps`, {
        method: "POST",
        json: body,
        headers: { "idempotency-key": key },
      }),
  };
}
