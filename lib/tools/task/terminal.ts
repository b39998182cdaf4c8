// submit and block end the run. They change nothing themselves: `run` returns a terminal marker and
// the work loop acts on it (submit → a deliverables row and task/work.submitted; block →
// blocked_external with the reason). The model is told the action was accepted.
import { z } from "zod";
import { text } from "../../text.ts";
import { defineTool } from "../contract.ts";

/** The tools that end a run (the work loop always keeps a step for one of them). */
export const TERMINAL_TOOL_NAMES: ReadonlySet<string> = new Set(["submit", "block"]);

export const submit = defineTool({
  name: "submit",
  description:
    "Finish the task: hand in the deliverable (markdown for the reviewer) and a structured result. Ends the run.",
  sideEffect: false,
  input: z.strictObject({
    markdown: text({ trim: true, min: 1, max: 200_000, multiline: true }).describe(
      "The deliverable: what was done, the evidence, every recorded WOULD_DO, and anything left open.",
    ),
    result: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), z.unknown())
      .default({})
      .describe("Machine-readable facts (ids created, settings recorded, checklist items done)."),
  }),
  run: async (_ctx, input) => ({
    type: "terminal",
    terminal: { kind: "submit", markdown: input.markdown, result: input.result },
    data: { accepted: "submit", note: "The deliverable goes to review; the run ends here." },
  }),
});

export const block = defineTool({
  name: "block",
  description:
    "Stop: the task cannot go on without something outside your reach (access, a tier, a human decision). Ends the run.",
  sideEffect: false,
  input: z.strictObject({
    reason: text({ trim: true, min: 1, max: 2_000, multiline: true }).describe(
      "Exactly what is missing (the permission, tier or decision) and who can provide it.",
    ),
  }),
  run: async (_ctx, input) => ({
    type: "terminal",
    terminal: { kind: "block", reason: input.reason },
    data: { accepted: "block", note: "The task is set to blocked_external; the run ends here." },
  }),
});
