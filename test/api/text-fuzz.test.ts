// Text fuzzing at the API boundary: every string field of POST /api/tasks and every string parameter
// of GET /api/tasks gets values with NUL, other control characters, unpaired surrogates, bidi
// controls, line breaks (single-line fields) and megabyte lengths. Every answer must be a 4xx naming
// the field (`body` for the body limit), and nothing may be written or sent. Mutations come from a
// seeded PRNG: FUZZ_SEED=<n> reruns another sequence; a failure message names seed, case and value.
// Bodies are built by hand with every non-ASCII code unit as a JSON \uXXXX escape, so a lone
// surrogate reaches JSON.parse intact (a raw one would be re-encoded as U+FFFD on the way).
import { count } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { taskEvents, tasks } from "../../db/schema/index.ts";
import { findTextIssue } from "../../lib/text.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { prng, type Rand } from "../random.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 0x7e57);
const BODY_LIMIT = 65_536;
const MEGABYTE = 1024 * 1024;

// ---- what goes in ---------------------------------------------------------------------------------

const EDGE = ["a", "Z", "7", "é", "😀", "ש", "م", "中", "[", "]"];
const MIDDLE = [...EDGE, " ", "\t", "e\u0301", "👩🏽‍💻", "🇩🇪", "שלום", "مرحبا", "-", "_", "\u200f"];
const ID_CHARS = "0123456789abcdefghjkmnpqrstvwxyz";

/** Clean text: starts and ends with a visible character, so trimming never changes it. */
function cleanValue(r: Rand, multiline: boolean): string {
  const middle = Array.from({ length: r.int(12) }, () =>
    r.pick(multiline ? [...MIDDLE, "\n", "\r\n"] : MIDDLE),
  );
  return `${r.pick(EDGE)}${middle.join("")}${r.pick(EDGE)}`;
}

const C0 = [...Array.from({ length: 32 }, (_, i) => i).filter((c) => ![0, 9, 10, 13].includes(c))];
const C1 = [0x7f, ...Array.from({ length: 32 }, (_, i) => 0x80 + i)];
const BIDI = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
const between = (r: Rand, lo: number, hi: number) => lo + r.int(hi - lo + 1);

type TokenKind = "nul" | "c0" | "c1" | "high" | "low" | "bidi" | "line_break";
function token(r: Rand, kind: TokenKind): string {
  switch (kind) {
    case "nul":
      return "\u0000";
    case "c0":
      return String.fromCharCode(r.pick(C0));
    case "c1":
      return String.fromCharCode(r.pick(C1));
    case "high":
      return String.fromCharCode(between(r, 0xd800, 0xdbff));
    case "low":
      return String.fromCharCode(between(r, 0xdc00, 0xdfff));
    case "bidi":
      return String.fromCharCode(r.pick(BIDI));
    case "line_break":
      return r.pick(["\n", "\r", "\r\n"]);
  }
}

interface Target {
  /** How the error names the field. */
  field: string;
  multiline: boolean;
  /** The field (or its coercion) trims whitespace, so a whitespace token must not sit at an edge. */
  trims: boolean;
  /** Refuses by the text rules (so the message is findTextIssue's), not by a pattern or an enum. */
  text: boolean;
  max?: number;
  base: (r: Rand) => string;
}

const taskId = (r: Rand) => `task_${Array.from({ length: 26 }, () => r.pick([...ID_CHARS])).join("")}`;

/**
 * 1–3 refused tokens inserted at code-point boundaries of a clean value. At most one surrogate, so
 * the result can never pair up into valid UTF-16.
 */
function mutate(r: Rand, clean: string, t: Target, surrogates = true): string {
  const points = Array.from(clean);
  const kinds: TokenKind[] = ["nul", "c0", "c1", "bidi"];
  if (surrogates) kinds.push(r.pick(["high", "low"] as const));
  if (!t.multiline) kinds.push("line_break");
  let surrogate = false;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    let kind = r.pick(kinds);
    if (kind === "high" || kind === "low") {
      if (surrogate) kind = "nul";
      surrogate = true;
    }
    const tok = token(r, kind);
    const edgeOk = !t.trims || !/^\s+$/.test(tok);
    const at = edgeOk ? r.int(points.length + 1) : 1 + r.int(Math.max(points.length - 1, 1));
    points.splice(at, 0, tok);
  }
  return points.join("");
}

// ---- how it is sent -------------------------------------------------------------------------------

/** A JSON string literal with every code unit outside printable ASCII as a \uXXXX escape. */
const jsonString = (s: string) =>
  `"${s.replace(/[^\x20-\x7e]|["\\]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;

type JsonValue = string | boolean | JsonValue[] | { [k: string]: JsonValue };
function jsonBody(v: JsonValue): string {
  if (typeof v === "string") return jsonString(v);
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `[${v.map(jsonBody).join(",")}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${jsonString(k)}:${jsonBody(x)}`)
    .join(",")}}`;
}

/** Percent-encodes UTF-8 (the query parameters carry no surrogates: see the test that says why). */
const queryValue = (s: string) => encodeURIComponent(s);

const show = (s: string) => {
  const j = jsonString(s);
  return j.length > 160 ? `${j.slice(0, 160)}… (${s.length} code units)` : j;
};

// ---- the cases --------------------------------------------------------------------------------------

const BODY_TARGETS: Record<string, Target> = {
  title: {
    field: "title",
    multiline: false,
    trims: true,
    text: true,
    max: 200,
    base: (r) => cleanValue(r, false),
  },
  description: {
    field: "description",
    multiline: true,
    trims: false,
    text: true,
    max: 20_000,
    base: (r) => cleanValue(r, true),
  },
  project: {
    field: "project",
    multiline: false,
    trims: false,
    text: true,
    max: 64,
    base: () => "proj_default",
  },
  plan: { field: "plan", multiline: false, trims: false, text: true, max: 64, base: () => "plan_default" },
  worker: { field: "worker", multiline: false, trims: false, text: true, max: 64, base: () => "crm-setup" },
  rubric: {
    field: "rubric.0",
    multiline: false,
    trims: true,
    text: true,
    max: 500,
    base: (r) => cleanValue(r, false),
  },
  depends_on: { field: "depends_on.0", multiline: false, trims: false, text: false, base: taskId },
};

const QUERY_TARGETS: Record<string, Target> = {
  state: { field: "query.state", multiline: false, trims: false, text: false, base: () => "intake" },
  project: {
    field: "query.project",
    multiline: false,
    trims: false,
    text: true,
    max: 64,
    base: () => "proj_default",
  },
  limit: { field: "query.limit", multiline: false, trims: true, text: false, base: () => "50" },
  cursor: { field: "query.cursor", multiline: false, trims: false, text: false, base: taskId },
};

/** A clean submission; `key` then gets the fuzzed value (rubric and depends_on as their first item). */
function bodyWith(r: Rand, key: string, value: string): JsonValue {
  const body: Record<string, JsonValue> = {
    title: cleanValue(r, false),
    description: cleanValue(r, true),
    project: "proj_default",
    worker: "crm-setup",
    rubric: [cleanValue(r, false), "no PII in notes"],
    dry_run: true,
  };
  if (key === "rubric") body.rubric = [value, "no PII in notes"];
  else if (key === "depends_on") body.depends_on = [value];
  else body[key] = value;
  return body;
}

interface Case {
  label: string;
  target: Target;
  value: string;
  /** The fuzzed field's expected status and error.field. */
  status: 400 | 413;
  field: string;
}

const MUTATIONS_PER_FIELD = 40;

function bodyCases(key: string, t: Target): Case[] {
  const r = prng(SEED ^ [...key].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
  const cases: Case[] = [];
  const add = (label: string, value: string, status: 400 | 413, field: string) =>
    cases.push({ label: `seed=${SEED} ${key} #${cases.length} ${label}`, target: t, value, status, field });
  for (let i = 0; i < MUTATIONS_PER_FIELD; i++) add("mutation", mutate(r, t.base(r), t), 400, t.field);
  // A megabyte: the body limit answers before any parsing, for clean and dirty text alike.
  add("1 MB clean", `a${"x".repeat(MEGABYTE)}é😀`, 413, "body");
  add("1 MB with NUL", `${"x".repeat(MEGABYTE)}\u0000`, 413, "body");
  add("1 MB of lone surrogates", "\ud800x".repeat(MEGABYTE / 2), 413, "body");
  if (t.max !== undefined) {
    // Under the body limit: the field's own limit, and a refused character past it.
    add("one over max", `a${"b".repeat(t.max)}`, 400, t.field);
    const long = Math.min(t.max * 2, BODY_LIMIT - 8_000);
    add("long with a late bidi control", `${"a".repeat(long)}\u202e`, 400, t.field);
  }
  return cases;
}

function queryCases(key: string, t: Target): Case[] {
  const r = prng(SEED ^ (0x9e3779b9 + key.length * 131 + key.charCodeAt(0)));
  const cases: Case[] = [];
  const add = (label: string, value: string) =>
    cases.push({
      label: `seed=${SEED} query.${key} #${cases.length} ${label}`,
      target: t,
      value,
      status: 400,
      field: t.field,
    });
  for (let i = 0; i < 25; i++) {
    // A URL cannot carry a lone surrogate (see the last test); mutate with the other tokens.
    add("mutation", mutate(r, t.base(r), t, false));
  }
  add("1 MB", `${t.base(r)}${"x".repeat(MEGABYTE)}`);
  add("1 MB with NUL", `${"x".repeat(MEGABYTE)}\u0000`);
  return cases;
}

// ---- the tests --------------------------------------------------------------------------------------

const t = useTestDb();
type Json = Record<string, any>;
const counts = async () => {
  const [[a], [b]] = await Promise.all([
    t.current.db.select({ n: count() }).from(tasks),
    t.current.db.select({ n: count() }).from(taskEvents),
  ]);
  return { tasks: a?.n ?? 0, events: b?.n ?? 0 };
};

describe("the fuzz harness", () => {
  it("sends clean values intact: built the same way, they are accepted and stored exactly", async () => {
    const api = testApp(t.current.db);
    const r = prng(SEED);
    for (let i = 0; i < 5; i++) {
      const body = bodyWith(r, "title", cleanValue(r, false)) as Record<string, JsonValue>;
      const raw = jsonBody(body);
      expect(/^[\x20-\x7e]*$/.test(raw)).toBe(true);
      expect(JSON.parse(raw)).toEqual(body);
      const res = await api.request("/api/tasks", {
        method: "POST",
        body: raw,
        headers: { "content-type": "application/json" },
      });
      expect(res.status, raw).toBe(201);
      const { task } = (await res.json()) as Json;
      expect(task).toMatchObject({ title: body.title, description: body.description, rubric: body.rubric });
    }
    expect(JSON.parse(jsonString("a\ud800b\u0000"))).toBe("a\ud800b\u0000");
  });
});

describe("text fuzzing: nothing refused is written", () => {
  let api: ReturnType<typeof testApp>;
  let before: { tasks: number; events: number };
  beforeAll(async () => {
    api = testApp(t.current.db);
    before = await counts();
  });

  async function expectRefused(res: Response, c: Case) {
    const where = `${c.label}: ${show(c.value)}`;
    expect(res.status, where).toBeGreaterThanOrEqual(400);
    expect(res.status, where).toBeLessThan(500);
    const body = (await res.json()) as Json;
    expect({ status: res.status, field: body.error?.field }, `${where} → ${JSON.stringify(body)}`).toEqual({
      status: c.status,
      field: c.field,
    });
    if (c.status === 400 && c.target.text && c.field === c.target.field) {
      const value = c.target.trims ? c.value.trim() : c.value;
      const issue = findTextIssue(value, { multiline: c.target.multiline });
      const first = body.error.details.issues[0];
      if (issue) expect(first, where).toEqual({ field: c.field, message: issue.message });
      else expect(first.message, where).toMatch(/Too big|<=/);
    }
    expect(await counts(), where).toEqual(before);
    expect(api.events.sent, where).toHaveLength(0);
  }

  for (const [key, target] of Object.entries(BODY_TARGETS)) {
    it(`POST /api/tasks refuses fuzzed '${target.field}' with 4xx naming it`, async () => {
      const r = prng(SEED + 1);
      for (const c of bodyCases(key, target)) {
        const res = await api.request("/api/tasks", {
          method: "POST",
          body: jsonBody(bodyWith(r, key, c.value)),
          headers: { "content-type": "application/json" },
        });
        await expectRefused(res, c);
      }
    });
  }

  it("POST /api/tasks refuses raw control characters inside a JSON string as malformed JSON", async () => {
    const r = prng(SEED + 2);
    for (let i = 0; i < 20; i++) {
      const ch = String.fromCharCode(r.pick([0, ...C0, 10, 13]));
      const raw = `{"title":"a${ch}b"}`;
      const res = await api.request("/api/tasks", {
        method: "POST",
        body: raw,
        headers: { "content-type": "application/json" },
      });
      await expectRefused(res, {
        label: `seed=${SEED} raw #${i}`,
        target: BODY_TARGETS.title as Target,
        value: raw,
        status: 400,
        field: "body",
      });
    }
  });

  for (const [key, target] of Object.entries(QUERY_TARGETS)) {
    it(`GET /api/tasks refuses fuzzed '${target.field}' with 400 naming it`, async () => {
      for (const c of queryCases(key, target)) {
        const res = await api.request(`/api/tasks?${key}=${queryValue(c.value)}`);
        await expectRefused(res, c);
      }
    });
  }

  it("a lone surrogate cannot reach a query parameter: undecodable percent-bytes stay literal", async () => {
    // A URL carries UTF-8; a surrogate's would-be bytes (%ED%A0%80) are not UTF-8, and Hono leaves
    // an undecodable sequence as the literal text "%ED%A0%80" (which the text rules accept).
    for (const [key, status] of [
      ["state", 400],
      ["limit", 400],
      ["cursor", 400],
      ["project", 200],
    ] as const) {
      const res = await api.request(`/api/tasks?${key}=a%ED%A0%80b`);
      const body = (await res.json()) as Json;
      expect(res.status, key).toBe(status);
      if (status === 200) expect(body.tasks).toEqual([]);
      else expect(body.error.field).toBe(`query.${key}`);
      expect(await counts()).toEqual(before);
    }
  });
});
