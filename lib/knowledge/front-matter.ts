// The front matter of a knowledge file: a `---` block of `key: value` lines before the markdown.
// A deliberately small subset of YAML, so no parser dependency and no surprises: a value is a plain
// or quoted scalar, or an inline list `[a, b, "c, d"]`; `#` starts a comment line. Anything else is an
// error naming the line.
import { DomainError } from "../errors.ts";

export type FrontMatterValue = string | string[];

export interface ParsedFile {
  data: Record<string, FrontMatterValue>;
  body: string;
}

const fail = (path: string, line: number, message: string) =>
  new DomainError("VALIDATION", `${path}:${line}: ${message}`, { field: path, details: { line } });

function unquote(raw: string, path: string, line: number): string {
  const s = raw.trim();
  const q = s[0];
  if (q === '"' || q === "'") {
    if (s.length < 2 || s.at(-1) !== q) throw fail(path, line, `unterminated quoted value ${s}`);
    return s.slice(1, -1);
  }
  return s;
}

function parseList(raw: string, path: string, line: number): string[] {
  const inner = raw.trim().slice(1, -1);
  if (inner.trim() === "") return [];
  const items: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (const ch of inner) {
    if (quote) {
      current += ch;
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      current += ch;
      quote = ch;
    } else if (ch === ",") {
      items.push(current);
      current = "";
    } else current += ch;
  }
  if (quote) throw fail(path, line, "unterminated quote in list");
  items.push(current);
  return items.map((item) => unquote(item, path, line));
}

export function parseFrontMatter(path: string, source: string): ParsedFile {
  const lines = source.replace(/^\ufeff/, "").split(/\r?\n/);
  if (lines[0]?.trim() !== "---") throw fail(path, 1, "must start with a front matter block ('---')");
  const end = lines.findIndex((l, i) => i > 0 && l.trim() === "---");
  if (end < 0) throw fail(path, 1, "the front matter block is not closed with '---'");
  const data: Record<string, FrontMatterValue> = {};
  for (let i = 1; i < end; i++) {
    const line = lines[i] ?? "";
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const m = /^([A-Za-z_][\w-]*):(.*)$/.exec(line);
    if (!m) throw fail(path, i + 1, `expected 'key: value', got ${JSON.stringify(line)}`);
    const key = m[1] as string;
    const value = (m[2] as string).trim();
    if (key in data) throw fail(path, i + 1, `'${key}' is given twice`);
    data[key] =
      value.startsWith("[") && value.endsWith("]")
        ? parseList(value, path, i + 1)
        : unquote(value, path, i + 1);
  }
  const body = lines
    .slice(end + 1)
    .join("\n")
    .replace(/^\s*\n/, "");
  return { data, body };
}
