// The dev engine's expression slice: the filters, wait matches and cancels foreman declares, and a
// loud refusal of anything beyond them.
import { describe, expect, it } from "vitest";
import { evaluate } from "./inngest-expr.ts";

describe("inngest-expr", () => {
  const event = { data: { taskId: "task_1", to: "done" } };
  const async = { data: { taskId: "task_1", stage: "internal" } };

  it("evaluates foreman's triggers, waits and cancels", () => {
    expect(evaluate("event.data.to == 'done'", { event })).toBe(true);
    expect(evaluate("event.data.to != 'done'", { event })).toBe(false);
    expect(
      evaluate('async.data.taskId == "task_1" && async.data.stage == "internal"', { event, async }),
    ).toBe(true);
    expect(evaluate('async.data.taskId == "task_1" && async.data.stage == "client"', { event, async })).toBe(
      false,
    );
    expect(evaluate("async.data.taskId == event.data.taskId", { event, async })).toBe(true);
    // `||` between alternatives, `&&` binding tighter (CEL's precedence).
    expect(evaluate("event.data.to == 'done' || event.data.to == 'cancelled'", { event })).toBe(true);
    expect(evaluate("event.data.to == 'ready' || event.data.to == 'cancelled'", { event })).toBe(false);
    expect(
      evaluate(
        "event.data.to == 'ready' || async.data.taskId == 'task_1' && async.data.stage == 'internal'",
        {
          event,
          async,
        },
      ),
    ).toBe(true);
  });

  it("never matches a missing field, and refuses what it cannot read", () => {
    expect(evaluate("event.data.nothing == event.data.missing", { event })).toBe(false);
    expect(() => evaluate("event.data.n > 5", { event })).toThrow(/unsupported/);
    expect(() => evaluate("size(event.data) == 1", { event })).toThrow(/unsupported/);
  });
});
