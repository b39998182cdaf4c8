// Whether a verdict scored the whole rubric: entries are matched to rubric lines by the number they
// start with (as the prompt asks), else by their place — never by their wording, which a small model
// may repeat or copy from the prompt's example.
import { describe, expect, it } from "vitest";
import { type ReviewVerdict, unscored } from "./rubric.ts";

const rubric = {
  criteria: ["Stages exist", "Its label is 'Renewal date'", "Nothing else changed"],
  passThreshold: 7,
};
const verdict = (labels: string[]): ReviewVerdict => ({
  criteria: labels.map((criterion) => ({ criterion, score: 9, pass: true, note: "ok" })),
  verdict: "pass",
  score: 9,
  feedback: "Fine.",
});

describe("unscored", () => {
  it("counts the rubric lines scored, by number or place, not by wording", () => {
    expect(unscored(verdict(["1. Stages", "2. Its label", "3. Nothing"]), rubric)).toBeUndefined();
    // Every label alike (the prompt's example copied): their places still name three lines.
    expect(unscored(verdict(["2. Its label is", "2. Its label is", "2. Its label is"]), rubric)).toContain(
      "scored 1 of the rubric's 3 criteria (2 entries repeat a criterion)",
    );
    expect(unscored(verdict(["overall", "overall", "overall"]), rubric)).toBeUndefined();
    expect(unscored(verdict(["overall"]), rubric)).toContain("scored 1 of the rubric's 3 criteria");
    // A number outside the rubric counts by its place.
    expect(unscored(verdict(["1. a", "7. b", "3. c"]), rubric)).toBeUndefined();
  });

  it("does not count entries past the rubric's end as lines of it", () => {
    // Line 1 three times, then an "overall" and a summary: lines 2 and 3 were never scored.
    expect(
      unscored(verdict(["1. Stages", "1. Stages", "1. Stages", "overall", "summary"]), rubric),
    ).toContain("scored 1 of the rubric's 3 criteria");
  });

  it("reads a number only with its delimiter, so a line that begins with a figure keeps its place", () => {
    const counted = {
      criteria: ["Has a title", "5 properties exist", "A note", "Labels", "Owner set"],
      passThreshold: 7,
    };
    // Line 2 echoed without its number: "5 properties exist" is line 2 by place, not line 5.
    expect(
      unscored(
        verdict(["1. Has a title", "5 properties exist", "3. A note", "4. Labels", "5. Owner set"]),
        counted,
      ),
    ).toBeUndefined();
  });
});
