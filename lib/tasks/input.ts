// The submit input: what a caller (API, webhook, agent, schedule) may say about a new task. The one
// zod schema every surface parses a submission with; the write itself lives in submit.ts. Every text
// field refuses control characters, unpaired surrogates and bidi controls (lib/text.ts).
import { z } from "zod";
import { ID_PATTERN } from "../ids.ts";
import { text } from "../text.ts";

/** The priority lanes P0–P5 by name (index = lane). */
export const PRIORITIES = ["urgent", "high", "normal", "low", "background", "bulk"] as const;
export const DEFAULT_PROJECT_ID = "proj_default";
export const DEFAULT_WORKER_ID = "crm-setup";

export const submitTaskInput = z.strictObject({
  title: text({ trim: true, min: 1, minMessage: "must not be empty", max: 200 }),
  description: text({ max: 20_000, multiline: true }).optional(),
  project: text({ min: 1, max: 64 }).optional(),
  plan: text({ min: 1, max: 64 }).optional(),
  priority: z.enum(PRIORITIES).optional(),
  worker: text({ min: 1, max: 64 }).optional(),
  rubric: z
    .array(text({ trim: true, min: 1, max: 500 }))
    .max(20)
    .optional(),
  depends_on: z
    .array(z.string().regex(ID_PATTERN, "must be a task id"))
    .max(50)
    .refine((ids) => new Set(ids).size === ids.length, "must not repeat a task id")
    .optional(),
  dry_run: z.boolean().optional(),
});
export type SubmitTaskInput = z.infer<typeof submitTaskInput>;
