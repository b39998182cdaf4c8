// The durable-function rules (lint/durable/*.grit, Biome GritQL plugins listed in biome.json): an
// un-awaited send, a step inside a step, a step writing a variable declared outside it. Like
// layering.test.ts this runs the real Biome binary with the repo's own biome.json and plugin files in
// a temporary copy of the layout, so what is checked is the configuration as written.
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const BIOME = join(ROOT, "node_modules/.bin/biome");
const FIXTURES = join(import.meta.dirname, "fixtures/durable");
const PLUGINS = "lint/durable";

const AWAIT = "durable/await-send";
const NESTED = "durable/no-nested-steps";
const MUTATION = "durable/no-outer-mutation";

const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
/** 1-based line of the first line containing `needle`. */
const lineOf = (source: string, needle: string) => {
  const i = source.split("\n").findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`no line containing ${needle}`);
  return i + 1;
};

// Pins what each rule reports and what it lets pass: `// <rule>` marks a line it must report; every
// other line must stay silent. `// miss:` marks a documented limit (lint/README.md).
const VARIANTS: Record<string, string> = {
  "functions/v-await.ts": `
declare const inngest: { send(e: unknown): Promise<unknown> };
declare const events: { send(e: unknown): Promise<unknown> };
declare function publish(deps: unknown, rows: unknown[]): Promise<unknown>;
declare const other: { send(e: unknown): Promise<unknown> };
export async function handler({ step, deps }: { step: Step; deps: { events: typeof events } }) {
  step.sendEvent("bare", {}); // ${AWAIT}
  inngest.send({ name: "a" }); // ${AWAIT}
  deps.events.send({ name: "a" }); // ${AWAIT}
  events.send({ name: "a" }); // ${AWAIT}
  publish(deps, []); // ${AWAIT}
  void step.sendEvent("void", {}); // ${AWAIT}
  step.sendEvent("then", {}).then(() => 1); // ${AWAIT}
  publish(deps, []).catch(() => 1); // ${AWAIT}
  await step.run("in-step", async () => {
    publish(deps, []); // ${AWAIT}
    await publish(deps, []);
  });
  await step.sendEvent("awaited", {});
  await Promise.all([publish(deps, []), step.sendEvent("all", {})]);
  await publish(deps, []).then(() => 1);
  const kept = step.sendEvent("kept", {}); // miss: stored and never awaited
  other.send({}); // miss: another receiver
  if (kept) return step.sendEvent("returned", {});
  return () => inngest.send({});
}
type Step = { sendEvent(id: string, e: unknown): Promise<unknown>; run<T>(id: string, f: () => T): Promise<T> };
`,
  "functions/v-nested.ts": `
declare function helper(): Promise<number>;
export async function handler({ step }: { step: any }) {
  await step.run("outer", async () => {
    await step.run("mid", async () => { // ${NESTED}
      await step.sleep("s", "1s"); // ${NESTED}
    });
    [1, 2].map((i) => step.waitForEvent(\`w\${i}\`, { event: "e", timeout: "1h" })); // ${NESTED}
    return step.ai.wrap("wrap", () => 1); // ${NESTED}
  });
  await step.ai.wrap("wrap-outer", async function () {
    await step.invoke("child", {}); // ${NESTED}
  });
  await step.run("extra-args", async (n: number) => {
    await step.sendEvent("e", {}); // ${NESTED}
    return n;
  }, 3);
  await Promise.all([1, 2].map((i) => step.run(\`fan-\${i}\`, () => i)));
  await step.run("named", helper); // miss: the body is elsewhere
  await step.sleep("after", "1s");
}
`,
  "functions/v-mutation.ts": `
let total = 0;
export async function handler({ step }: { step: any }) {
  let count = 0;
  const items: number[] = [];
  const seen = new Map<string, number>();
  const state = { n: 0, deep: { x: 0 } };
  await step.run("writes", async (arg: number) => {
    count = 1; // ${MUTATION}
    count++; // ${MUTATION}
    --count; // ${MUTATION}
    total ||= 3; // ${MUTATION}
    items.push(1); // ${MUTATION}
    seen.set("a", 1); // ${MUTATION}
    state.deep.x += 1; // ${MUTATION}
    items[0] = 5; // ${MUTATION}
    Object.assign(state, { n: 2 }); // ${MUTATION}
    [1].forEach((v) => {
      count += v; // ${MUTATION}
    });
    let local = arg;
    local += 1;
    const acc: number[] = [];
    acc.push(local);
    const { n: renamed } = state;
    [1].forEach((v) => {
      local += v + renamed;
    });
    try {
      local = 1;
    } catch (err) {
      err = null;
    }
    items.sort(); // miss: not a listed mutating method
    return local;
  }, 1);
  await step.run("shadow", async () => {
    const f = (count: number) => count;
    count = f(2); // miss: count is declared (as f's parameter) somewhere in the callback
  });
  count = await step.run("result", () => count + 1);
  items.push(count);
  return { count, items, seen, state, total };
}
`,
};

/** The `// <rule>` marks of a variant: [rule, line]. */
const marked = (source: string) =>
  source
    .split("\n")
    .flatMap((l, i) => {
      const m = /\/\/ (durable\/[a-z-]+)/.exec(l);
      return m ? [[m[1] as string, i + 1] as const] : [];
    })
    .map(([rule, line]) => `${rule}@${line}`)
    .sort();

interface Diagnostic {
  title: string;
  file: string;
  line: number;
  message: string;
}

function biomeLint(cwd: string, args: string[]) {
  const run = spawnSync(BIOME, ["lint", "--reporter=github", "--colors=off", ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (run.error) throw run.error;
  const diagnostics: Diagnostic[] = [];
  for (const line of run.stdout.split("\n")) {
    const m = /^::(?:error|warning|notice) title=([^,]+),file=([^,]+),line=(\d+),[^:]*::(.*)$/.exec(line);
    if (m)
      diagnostics.push({
        title: m[1] as string,
        file: relative(cwd, m[2] as string),
        line: Number(m[3]),
        message: m[4] as string,
      });
  }
  return { status: run.status, diagnostics, output: `${run.stdout}${run.stderr}` };
}

/** Plugin findings as `rule@line`, sorted; any other plugin output (a pattern's runtime error) keeps its text. */
const findings = (diagnostics: Diagnostic[], file: string) =>
  diagnostics
    .filter((d) => d.title === "plugin" && d.file === file)
    .map((d) => `${/^(durable\/[a-z-]+):/.exec(d.message)?.[1] ?? d.message}@${d.line}`)
    .sort();

const VIOLATIONS = [
  { name: "unawaited-send.ts", rule: AWAIT, at: "step.sendEvent(", says: /not awaited/ },
  { name: "nested-step.ts", rule: NESTED, at: "await step.sendEvent(", says: /inside a step\.run callback/ },
  {
    name: "outer-mutation.ts",
    rule: MUTATION,
    at: "attempts += 1",
    says: /writes attempts, which is declared outside/,
  },
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "foreman-durable-"));
  copyFileSync(join(ROOT, "biome.json"), join(dir, "biome.json"));
  mkdirSync(join(dir, PLUGINS), { recursive: true });
  for (const f of readdirSync(join(ROOT, PLUGINS))) {
    if (f.endsWith(".grit")) copyFileSync(join(ROOT, PLUGINS, f), join(dir, PLUGINS, f));
  }
  const files: Record<string, string> = { ...VARIANTS };
  for (const f of readdirSync(FIXTURES)) {
    files[`functions/${f}`] = fixture(f);
    // The same code outside functions/, and as a test file inside it: out of the rules' scope.
    files[`lib/${f}`] = fixture(f);
    files[`functions/${f.replace(/\.ts$/, ".test.ts")}`] = fixture(f);
  }
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("durable-function rules (Biome GritQL plugins, the real binary and biome.json)", () => {
  it("reports each fixture's one violation, with its rule's message, and nothing else", () => {
    const { status, diagnostics, output } = biomeLint(
      dir,
      VIOLATIONS.map((v) => `functions/${v.name}`),
    );
    expect(status, output).toBe(1);
    for (const v of VIOLATIONS) {
      const file = `functions/${v.name}`;
      const mine = diagnostics.filter((d) => d.file === file);
      expect(findings(mine, file), output).toEqual([`${v.rule}@${lineOf(fixture(v.name), v.at)}`]);
      expect(mine, output).toHaveLength(1);
      expect(mine[0]?.message).toMatch(v.says);
    }
  });

  it("stays silent on the clean durable function (exit code 0)", () => {
    const { status, diagnostics, output } = biomeLint(dir, ["functions/clean.ts"]);
    expect(diagnostics, output).toEqual([]);
    expect(status, output).toBe(0);
  });

  it("is scoped to functions/ and skips test files there", () => {
    const outOfScope = readdirSync(FIXTURES).flatMap((f) => [
      `lib/${f}`,
      `functions/${f.replace(/\.ts$/, ".test.ts")}`,
    ]);
    const { diagnostics, output } = biomeLint(dir, outOfScope);
    expect(
      diagnostics.filter((d) => d.title === "plugin"),
      output,
    ).toEqual([]);
  });

  it.each(Object.keys(VARIANTS))("reports exactly the marked lines of %s", (file) => {
    const { diagnostics, output } = biomeLint(dir, [file]);
    expect(findings(diagnostics, file), output).toEqual(marked(VARIANTS[file] as string));
  });

  it("holds for the repository's own functions/", () => {
    const { diagnostics, output } = biomeLint(ROOT, ["functions"]);
    expect(
      diagnostics.filter((d) => d.title === "plugin"),
      output,
    ).toEqual([]);
  });
});
