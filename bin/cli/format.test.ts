// The CLI's printing rules: aligned columns, the flexible column cut to fit, ellipses, relative ages,
// money, and each event kind's gist.
import { describe, expect, it } from "vitest";
import { age, eventGist, table, truncate, usd } from "./format.ts";

describe("table", () => {
  const cols = [{ header: "ID" }, { header: "N", align: "right" as const }, { header: "TITLE", flex: true }];

  it("aligns every column two spaces apart, right-aligning numbers, with no trailing spaces", () => {
    expect(
      table(cols, [
        ["a", "1", "short"],
        ["bbbb", "100", "x"],
      ]),
    ).toBe(["ID      N  TITLE", "a       1  short", "bbbb  100  x"].join("\n"));
  });

  it("cuts the flexible column to the terminal width, never below 10", () => {
    const out = table(cols, [["id1", "7", "a title far too long to fit in a narrow terminal"]], {
      width: 30,
    });
    for (const line of out.split("\n")) expect([...line].length).toBeLessThanOrEqual(30);
    expect(out.split("\n")[1]).toBe("id1  7  a title far too long…");
    const narrow = table(cols, [["id1", "7", "a title far too long"]], { width: 5 });
    expect(narrow.split("\n")[1]).toBe("id1  7  a title f…");
  });

  it("cuts the flexible column at flexMax when there is no terminal, and flattens line breaks", () => {
    const out = table(cols, [["i", "1", `${"x".repeat(80)}`]], { flexMax: 20 });
    expect(out.split("\n")[1]).toBe(`i   1  ${"x".repeat(19)}…`);
    expect(table([{ header: "T" }], [["two\nlines\u0007"]])).toBe("T\ntwo lines");
  });
});

describe("truncate and age", () => {
  it("cuts by characters, not UTF-16 units", () => {
    expect(truncate("héllo wörld", 6)).toBe("héllo…");
    expect(truncate("🙂🙂🙂", 2)).toBe("🙂…");
    expect(truncate("fits", 4)).toBe("fits");
  });

  it("says how long ago in the largest unit that fits", () => {
    const now = new Date("2026-03-10T12:00:00Z");
    const ago = (ms: number) => age(new Date(now.getTime() - ms), now);
    expect(ago(5_000)).toBe("5s");
    expect(ago(12 * 60_000)).toBe("12m");
    expect(ago(3 * 3_600_000)).toBe("3h");
    expect(ago(47 * 3_600_000)).toBe("47h");
    expect(ago(5 * 86_400_000)).toBe("5d");
    expect(ago(21 * 86_400_000)).toBe("3w");
    expect(ago(90 * 86_400_000)).toBe("3mo");
    expect(ago(800 * 86_400_000)).toBe("2y");
    expect(ago(-10_000)).toBe("0s");
  });

  it("prints money with cents, and fractions of a cent when that is all there is", () => {
    expect(usd(1.5)).toBe("$1.50");
    expect(usd(1234.567)).toBe("$1,234.57");
    expect(usd(0.0042)).toBe("$0.0042");
    expect(usd(0)).toBe("$0.00");
  });
});

describe("eventGist", () => {
  it("gives each kind its one line", () => {
    expect(
      eventGist("state_changed", { from: "failed_needs_triage", to: "ready", reason: "retried: x" }),
    ).toBe("failed_needs_triage → ready: retried: x");
    expect(eventGist("state_changed", { from: "intake", to: "ready", reason: null })).toBe("intake → ready");
    expect(eventGist("note", { text: "called the client" })).toBe("called the client");
    expect(eventGist("submitted", { source: "api", dependsOn: ["task_a"] })).toBe("from api, after task_a");
    expect(eventGist("triage", { via: "admin", reason: "reassigned to w2" })).toBe("reassigned to w2");
    expect(eventGist("triage", { via: "rules", reason: "no GPU" })).toBe("rules: no GPU");
    expect(eventGist("would_do", { method: "PATCH", path: "/crm/v3/x" })).toBe("WOULD PATCH /crm/v3/x");
    expect(eventGist("review", { verdict: "fail", score: 0.4 })).toBe("fail (score 0.4)");
    expect(eventGist("mystery", { a: 1 })).toBe('{"a":1}');
  });
});
