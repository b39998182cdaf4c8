// stableJson: key order never matters, at any depth; for the flat task input it is byte for byte what
// the submission hash used before (JSON.stringify with the sorted keys), so stored hashes still match.
import { describe, expect, it } from "vitest";
import { stableJson } from "./stable-json.ts";

describe("stableJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    expect(stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}',
    );
    expect(stableJson({ a: 1, b: 2 })).toBe(stableJson({ b: 2, a: 1 }));
    // Nested members count (JSON.stringify with a key list would drop keys it does not list).
    expect(stableJson({ t: [{ ref: "a" }] })).not.toBe(stableJson({ t: [{ ref: "b" }] }));
  });

  it("equals the earlier hash input for a flat task submission", () => {
    const input = { title: "Renewal", priority: "high", rubric: ["a", "b"], depends_on: [], dry_run: false };
    expect(stableJson(input)).toBe(JSON.stringify(input, Object.keys(input).sort()));
  });
});
