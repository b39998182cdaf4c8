// Text at every boundary: the one zod string type every API text field is parsed with, and the one
// cleaner for text that arrives from the CRM. Both apply the same rules:
//   - control characters (Unicode Cc: C0 U+0000–U+001F, DEL U+007F, C1 U+0080–U+009F) are not text,
//     except tab, and line feed / carriage return in multi-line fields. PostgreSQL cannot store NUL;
//     the others are invisible, break logs and terminals, and are never meant.
//   - unpaired surrogates (a high U+D800–U+DBFF not followed by a low, a low U+DC00–U+DFFF not preceded
//     by a high) are not Unicode; JSON.parse produces them from "\ud800" and drivers silently turn them
//     into U+FFFD, so what is stored would not be what was sent.
//   - bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) make text
//     display in another order than it reads ("Trojan Source"). Marks (U+200E/U+200F/U+061C) stay.
// API input is refused with a message naming the character and its offset (a UTF-16 index, as JS
// counts); the field comes from the zod path. CRM input is cleaned instead, and the caller records
// what `cleanText` changed in the event log.
import { z } from "zod";

const BIDI_NAMES: Record<number, string> = {
  8234: "LEFT-TO-RIGHT EMBEDDING",
  8235: "RIGHT-TO-LEFT EMBEDDING",
  8236: "POP DIRECTIONAL FORMATTING",
  8237: "LEFT-TO-RIGHT OVERRIDE",
  8238: "RIGHT-TO-LEFT OVERRIDE",
  8294: "LEFT-TO-RIGHT ISOLATE",
  8295: "RIGHT-TO-LEFT ISOLATE",
  8296: "FIRST STRONG ISOLATE",
  8297: "POP DIRECTIONAL ISOLATE",
};

// Without the `u` flag a regex sees UTF-16 code units, so it can find surrogates that are not paired.
const UNPAIRED = "[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]";
const CONTROL_MULTILINE = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f";
const CONTROL_SINGLE_LINE = "\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f";
const BIDI = "\\u202a-\\u202e\\u2066-\\u2069";
const FORBIDDEN_MULTILINE = new RegExp(`[${CONTROL_MULTILINE}${BIDI}]|${UNPAIRED}`);
const FORBIDDEN_SINGLE_LINE = new RegExp(`[${CONTROL_SINGLE_LINE}${BIDI}]|${UNPAIRED}`);

export type TextProblem = "nul" | "line_break" | "control" | "surrogate" | "bidi";

export interface TextIssue {
  problem: TextProblem;
  /** The offending UTF-16 code unit. */
  code: number;
  /** Its UTF-16 index in the string. */
  offset: number;
  message: string;
}

const hex = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;

function classify(code: number): TextProblem {
  if (code === 0) return "nul";
  if (code === 0x0a || code === 0x0d) return "line_break";
  if (code >= 0xd800 && code <= 0xdfff) return "surrogate";
  if (BIDI_NAMES[code]) return "bidi";
  return "control";
}

function describe(problem: TextProblem, code: number, offset: number): string {
  switch (problem) {
    case "nul":
      return `contains a NUL character (U+0000) at offset ${offset}`;
    case "line_break":
      return `contains a line break (${hex(code)}) at offset ${offset}; it must be a single line`;
    case "control":
      return `contains a control character (${hex(code)}) at offset ${offset}`;
    case "surrogate":
      return `contains an unpaired surrogate (${hex(code)}) at offset ${offset}`;
    case "bidi":
      return `contains a bidirectional control character (${hex(code)} ${BIDI_NAMES[code]}) at offset ${offset}`;
  }
}

/** The first character `text()` refuses in `s`, or undefined when `s` is clean. */
export function findTextIssue(s: string, opts: { multiline?: boolean } = {}): TextIssue | undefined {
  const match = (opts.multiline ? FORBIDDEN_MULTILINE : FORBIDDEN_SINGLE_LINE).exec(s);
  if (!match) return undefined;
  const code = s.charCodeAt(match.index);
  const problem = classify(code);
  return { problem, code, offset: match.index, message: describe(problem, code, match.index) };
}

export interface TextOptions {
  /** Maximum length in UTF-16 code units (zod's `.max`). */
  max: number;
  min?: number;
  /** The message when shorter than `min` (zod's default otherwise). */
  minMessage?: string;
  /** Trim surrounding whitespace before checking (and in the parsed value). */
  trim?: boolean;
  /** Allow line feeds and carriage returns (tabs are always allowed). */
  multiline?: boolean;
}

/** A zod string that refuses control characters, unpaired surrogates and bidi controls. */
export function text(opts: TextOptions) {
  let schema = z.string();
  if (opts.trim) schema = schema.trim();
  schema = schema.superRefine((value, ctx) => {
    const issue = findTextIssue(value, { multiline: opts.multiline ?? false });
    if (issue) {
      ctx.addIssue({
        code: "custom",
        message: issue.message,
        params: { problem: issue.problem, offset: issue.offset, char: hex(issue.code) },
      });
    }
  });
  if (opts.min !== undefined) {
    schema = opts.minMessage === undefined ? schema.min(opts.min) : schema.min(opts.min, opts.minMessage);
  }
  return schema.max(opts.max);
}

export interface CleanedText {
  text: string;
  /** What was changed, one line per kind of change; empty when the text was already clean. */
  cleaned: string[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Cleans text that is not ours to refuse (CRM data): unpaired surrogates become U+FFFD, NUL, other
 * control characters and bidi controls are removed, and with `multiline: false` line breaks (CRLF,
 * LF or CR) become one space each. The result passes `text()` with the same `multiline`.
 */
export function cleanText(s: string, opts: { multiline?: boolean } = {}): CleanedText {
  const multiline = opts.multiline ?? true;
  const forbidden = multiline ? FORBIDDEN_MULTILINE : FORBIDDEN_SINGLE_LINE;
  if (!forbidden.test(s)) return { text: s, cleaned: [] };

  const counts: Record<TextProblem, number> = { nul: 0, line_break: 0, control: 0, surrogate: 0, bidi: 0 };
  const codes: Record<TextProblem, Set<number>> = {
    nul: new Set(),
    line_break: new Set(),
    control: new Set(),
    surrogate: new Set(),
    bidi: new Set(),
  };
  const all = new RegExp(forbidden.source, "g");
  const out = s.replace(all, (ch, offset: number) => {
    const code = ch.charCodeAt(0);
    const problem = classify(code);
    if (problem === "line_break" && code === 0x0a && s.charCodeAt(offset - 1) === 0x0d) return "";
    counts[problem]++;
    codes[problem].add(code);
    if (problem === "surrogate") return "\ufffd";
    if (problem === "line_break") return " ";
    return "";
  });

  const list = (p: TextProblem) => {
    const sorted = [...codes[p]].sort((a, b) => a - b);
    const more = sorted.length > 5 ? `, and ${sorted.length - 5} more` : "";
    return `(${sorted.slice(0, 5).map(hex).join(", ")}${more})`;
  };
  const cleaned: string[] = [];
  if (counts.nul) cleaned.push(`removed ${plural(counts.nul, "NUL character")}`);
  if (counts.control)
    cleaned.push(`removed ${plural(counts.control, "control character")} ${list("control")}`);
  if (counts.bidi) {
    cleaned.push(`removed ${plural(counts.bidi, "bidirectional control character")} ${list("bidi")}`);
  }
  if (counts.surrogate) {
    cleaned.push(
      `replaced ${plural(counts.surrogate, "unpaired surrogate")} ${list("surrogate")} with U+FFFD`,
    );
  }
  if (counts.line_break) cleaned.push(`replaced ${plural(counts.line_break, "line break")} with a space`);
  return { text: out, cleaned };
}

/**
 * The first `max` UTF-16 units of `s` (the length limits count them), never ending on half of a
 * character pair: an emoji cut in two would be stored as a lone surrogate, then U+FFFD.
 */
export function clipText(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** `s` cut to `max` UTF-16 units with an ellipsis when it is longer, never halving a character pair. */
export const clipWithEllipsis = (s: string, max: number): string =>
  s.length <= max ? s : `${clipText(s, max - 1)}…`;
