// checklist_complete: the worker ticks one item of its task's checklist (the rubric) with evidence.
// Nothing outside foreman changes; the tool_call/tool_result events are the record, and the reviewer
// reads them. With a rubric, the item must be one of its lines (or its 1-based number), so a tick can
// always be matched to what was asked.
import { z } from "zod";
import { DomainError } from "../../errors.ts";
import { text } from "../../text.ts";
import { data, defineTool } from "../contract.ts";

const norm = (s: string) => s.trim().replace(/\s+/g, " ").toLowerCase();

function match(rubric: readonly string[], item: string): string | undefined {
  if (/^\d{1,3}$/.test(item.trim())) return rubric[Number(item.trim()) - 1];
  return rubric.find((line) => norm(line) === norm(item));
}

export const checklistComplete = defineTool({
  name: "checklist_complete",
  description:
    "Mark one checklist item of this task done, with the evidence (setting values, record ids, request results).",
  sideEffect: false,
  input: z.strictObject({
    item: text({ trim: true, min: 1, max: 500 }).describe(
      "The item as written in the checklist, or its number.",
    ),
    evidence: text({ trim: true, min: 1, max: 8_000, multiline: true }).describe("What shows it is done."),
  }),
  run: async (ctx, input) => {
    if (ctx.rubric.length === 0) return data({ completed: input.item, evidence: input.evidence });
    const item = match(ctx.rubric, input.item);
    if (!item) {
      throw new DomainError(
        "VALIDATION",
        `"${input.item}" is not an item of this task's checklist. The items are: ${ctx.rubric
          .map((line, i) => `${i + 1}. ${line}`)
          .join(" ")}`,
        { field: "item" },
      );
    }
    return data({ completed: item, evidence: input.evidence });
  },
});
