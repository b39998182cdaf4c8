// The text rules: what `text()` refuses (and the message naming it), what `cleanText` cleans (and the
// record of it), and that real text — emoji, right-to-left scripts, combining marks — passes untouched.
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { prng } from "../test/random.ts";
import { reviewCard } from "./slack/card.ts";
import { cleanText, clipText, clipWithEllipsis, findTextIssue, text } from "./text.ts";

const single = text({ max: 1000 });
const multi = text({ max: 1000, multiline: true });

const issuesOf = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path, message: i.message }));
};

const VALID = [
  "Set up Service Hub",
  "emoji 😀👩🏽‍💻🇩🇪 and a keycap 1️⃣",
  "עברית: הגדרת מוקד שירות",
  "العربية: إعداد مركز الخدمة",
  "mixed שלום world مرحبا 123",
  "combining: e\u0301 a\u0308 \u1100\u1161\u11a8 Z\u0336\u0335",
  "marks kept: a\u200eb\u200fc\u061cd",
  "zero-width joiner\u200d and non-joiner\u200c",
  "tab\tinside",
  "astral 𝕏 𠜎 \u{10ffff}",
  "U+FFFD \ufffd is a real character",
  "",
];

describe("text()", () => {
  for (const value of VALID) {
    it(`accepts ${JSON.stringify(value)} unchanged`, () => {
      expect(single.parse(value)).toBe(value);
      expect(multi.parse(value)).toBe(value);
      expect(cleanText(value)).toEqual({ text: value, cleaned: [] });
      expect(cleanText(value, { multiline: false })).toEqual({ text: value, cleaned: [] });
    });
  }

  const REFUSED: [string, string, string][] = [
    ["a NUL", "ab\u0000c", "contains a NUL character (U+0000) at offset 2"],
    ["a bell", "\u0007ding", "contains a control character (U+0007) at offset 0"],
    ["an escape", "red \u001b[31m", "contains a control character (U+001B) at offset 4"],
    ["a vertical tab", "a\u000bb", "contains a control character (U+000B) at offset 1"],
    ["a form feed", "a\u000cb", "contains a control character (U+000C) at offset 1"],
    ["DEL", "a\u007f", "contains a control character (U+007F) at offset 1"],
    ["a C1 control", "a\u0085b", "contains a control character (U+0085) at offset 1"],
    ["a lone high surrogate", "x\ud800y", "contains an unpaired surrogate (U+D800) at offset 1"],
    ["a high surrogate at the end", "ab\udbff", "contains an unpaired surrogate (U+DBFF) at offset 2"],
    ["a lone low surrogate", "\udc00y", "contains an unpaired surrogate (U+DC00) at offset 0"],
    ["a reversed pair", "\ude00\ud83d", "contains an unpaired surrogate (U+DE00) at offset 0"],
    ["a half emoji", "ok 😀\ud83d", "contains an unpaired surrogate (U+D83D) at offset 5"],
    [
      "a right-to-left override",
      "access\u202e }\u2066if (admin)",
      "contains a bidirectional control character (U+202E RIGHT-TO-LEFT OVERRIDE) at offset 6",
    ],
    [
      "a left-to-right embedding",
      "\u202aa",
      "contains a bidirectional control character (U+202A LEFT-TO-RIGHT EMBEDDING) at offset 0",
    ],
    [
      "a pop directional formatting",
      "a\u202c",
      "contains a bidirectional control character (U+202C POP DIRECTIONAL FORMATTING) at offset 1",
    ],
    [
      "a left-to-right isolate",
      "a\u2066b",
      "contains a bidirectional control character (U+2066 LEFT-TO-RIGHT ISOLATE) at offset 1",
    ],
    [
      "a pop directional isolate",
      "a\u2069",
      "contains a bidirectional control character (U+2069 POP DIRECTIONAL ISOLATE) at offset 1",
    ],
  ];
  for (const [name, value, message] of REFUSED) {
    it(`refuses ${name} in single- and multi-line fields, naming it and its offset`, () => {
      expect(issuesOf(single, value)).toEqual([{ path: [], message }]);
      expect(issuesOf(multi, value)).toEqual([{ path: [], message }]);
    });
  }

  it("allows line breaks only in multi-line fields", () => {
    for (const [value, code, offset] of [
      ["one\ntwo", "000A", 3],
      ["one\r\ntwo", "000D", 3],
      ["one\rtwo", "000D", 3],
    ] as const) {
      expect(multi.parse(value)).toBe(value);
      expect(issuesOf(single, value)).toEqual([
        {
          path: [],
          message: `contains a line break (U+${code}) at offset ${offset}; it must be a single line`,
        },
      ]);
    }
  });

  it("reports the first offending character only, with the field path from the object", () => {
    const schema = z.object({ title: single, rubric: z.array(single) });
    const r = schema.safeParse({ title: "ok", rubric: ["fine", "a\u202eb\u0000c"] });
    expect(r.success).toBe(false);
    expect(r.error?.issues).toEqual([
      expect.objectContaining({
        path: ["rubric", 1],
        message: "contains a bidirectional control character (U+202E RIGHT-TO-LEFT OVERRIDE) at offset 1",
        params: { problem: "bidi", offset: 1, char: "U+202E" },
      }),
    ]);
  });

  it("trims before checking when asked, and keeps min/max and their messages", () => {
    const title = text({ trim: true, min: 1, minMessage: "must not be empty", max: 5 });
    expect(title.parse("  hi \n")).toBe("hi");
    expect(issuesOf(title, " \t ")).toEqual([{ path: [], message: "must not be empty" }]);
    expect(issuesOf(title, "toolong")[0]?.message).toMatch(/<=5 characters/);
    expect(issuesOf(title, "a\u0000")[0]?.message).toBe("contains a NUL character (U+0000) at offset 1");
    expect(issuesOf(text({ max: 3 }), "")).toEqual([]);
    expect(issuesOf(text({ min: 1, max: 3 }), "")[0]?.message).toMatch(/>=1 characters/);
  });

  it("refuses non-strings as zod does", () => {
    expect(issuesOf(single, 42)[0]?.message).toMatch(/expected string/);
  });

  it("scans a megabyte quickly and finds a character at its end", () => {
    const big = `${"é😀".repeat(350_000)}\u0000`;
    const start = performance.now();
    expect(findTextIssue(big)).toMatchObject({ problem: "nul", offset: big.length - 1 });
    expect(findTextIssue(big.slice(0, -1))).toBeUndefined();
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe("cleanText()", () => {
  const CLEANED: [string, string, string, string[]][] = [
    ["a NUL", "ab\u0000c\u0000", "abc", ["removed 2 NUL characters"]],
    [
      "control characters",
      "\u0007a\u001b[0m\u007f\u0085",
      "a[0m",
      ["removed 4 control characters (U+0007, U+001B, U+007F, U+0085)"],
    ],
    ["a lone high surrogate", "x\ud800y", "x\ufffdy", ["replaced 1 unpaired surrogate (U+D800) with U+FFFD"]],
    ["a lone low surrogate", "\udc00", "\ufffd", ["replaced 1 unpaired surrogate (U+DC00) with U+FFFD"]],
    [
      "a reversed pair next to a real one",
      "\ude00\ud83d😀",
      "\ufffd\ufffd😀",
      ["replaced 2 unpaired surrogates (U+D83D, U+DE00) with U+FFFD"],
    ],
    [
      "bidi controls",
      "a\u202eb\u2066c\u2069",
      "abc",
      ["removed 3 bidirectional control characters (U+202E, U+2066, U+2069)"],
    ],
    [
      "a mix, listed per kind",
      "\u0000\u202e\ud800\u0001",
      "\ufffd",
      [
        "removed 1 NUL character",
        "removed 1 control character (U+0001)",
        "removed 1 bidirectional control character (U+202E)",
        "replaced 1 unpaired surrogate (U+D800) with U+FFFD",
      ],
    ],
  ];
  for (const [name, input, output, cleaned] of CLEANED) {
    it(`cleans ${name} and says so`, () => {
      expect(cleanText(input)).toEqual({ text: output, cleaned });
      expect(multi.parse(cleanText(input).text)).toBe(output);
    });
  }

  it("keeps line breaks and tabs in multi-line text, and makes single-line text one line", () => {
    const s = "Subject\r\nline two\nthree\rfour\tcol";
    expect(cleanText(s)).toEqual({ text: s, cleaned: [] });
    expect(cleanText(s, { multiline: false })).toEqual({
      text: "Subject line two three four\tcol",
      cleaned: ["replaced 3 line breaks with a space"],
    });
  });

  it("lists at most five code points per kind", () => {
    const s = Array.from({ length: 8 }, (_, i) => String.fromCharCode(0xd800 + i)).join("x");
    expect(cleanText(s).cleaned).toEqual([
      "replaced 8 unpaired surrogates (U+D800, U+D801, U+D802, U+D803, U+D804, and 3 more) with U+FFFD",
    ]);
  });

  it("always yields text that text() accepts (seeded random strings)", () => {
    const rand = prng(0x5eed).next;
    const pool = [
      0, 1, 9, 10, 13, 27, 0x7f, 0x85, 0x41, 0xe9, 0x5d0, 0x202e, 0x2067, 0xd83d, 0xde00, 0xdc00, 0xfffd,
    ];
    for (let n = 0; n < 500; n++) {
      const s = Array.from({ length: Math.floor(rand() * 12) }, () =>
        String.fromCharCode(pool[Math.floor(rand() * pool.length)] as number),
      ).join("");
      for (const multiline of [true, false]) {
        const { text: out, cleaned } = cleanText(s, { multiline });
        expect(findTextIssue(out, { multiline }), `seed case ${n}: ${JSON.stringify(s)}`).toBeUndefined();
        expect(cleaned.length === 0, JSON.stringify(s)).toBe(out === s);
      }
    }
  });
});

describe("clipText", () => {
  it("cuts to the limit without splitting a character pair", () => {
    const subject = `a${"😀".repeat(150)}`; // 301 UTF-16 units
    const cut = clipText(subject, 200);
    expect(cut.length).toBeLessThanOrEqual(200);
    expect(findTextIssue(cut)).toBeUndefined();
    expect(cut).toBe(`a${"😀".repeat(99)}`);
    expect(clipText("plain text", 5)).toBe("plain");
    expect(clipText("short", 50)).toBe("short");
  });
});

describe("clipWithEllipsis (Slack cards, notices, the digest, the board)", () => {
  it("cuts with an ellipsis within the limit and never leaves half an emoji", () => {
    expect(clipWithEllipsis("short", 50)).toBe("short");
    expect(clipWithEllipsis("abcdef", 4)).toBe("abc…");
    // "Review: " is 8 units, so the 150-unit header limit lands in the middle of an emoji.
    const title = "😀".repeat(100);
    const card = reviewCard({
      taskId: "task_x",
      title,
      deliverableHash: "h",
      version: 1,
      summary: null,
      review: null,
      links: {},
    });
    const header = (card.blocks[0] as { text: { text: string } }).text.text;
    expect(header.length).toBeLessThanOrEqual(150);
    expect(findTextIssue(header)).toBeUndefined();
    expect(header.endsWith("…")).toBe(true);
  });
});
