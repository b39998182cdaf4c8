// `npm run shakedown` against a running deployment: a real `node api/server.ts` (embedded PGlite, or
// PostgreSQL under TEST_DATABASE_URL) whose engine is the test's small Inngest dev server
// (fakes/inngest-dev.ts) and whose models and CRM are the fakes, wired by env. The command runs as an
// operator runs it, as a child process with FOREMAN_URL / FOREMAN_API_TOKEN; the test reads its table
// and its exit code. The fakes play the models the way the scenarios' text asks them to (an honest
// reviewer fails a first version that cannot quote earlier feedback; a gullible worker reaches for the
// forbidden tool), so the paths are the product's, not the test's.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SELF_STAGED } from "../../lib/shakedown/plan.ts";
import { SCENARIOS } from "../../lib/shakedown/scenarios.ts";
import { pathText } from "../../lib/shakedown/table.ts";
import { createTestDb, type TestDb } from "../db.ts";
import { type AnthropicFake, type AnthropicRequestBody, startAnthropicFake } from "../fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { type InngestDev, startInngestDev } from "../fakes/inngest-dev.ts";
import { type ScriptedTurn, toolTurn } from "../fakes/model-script.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { freePort } from "../net.ts";
import { killAll, type NodeProcess, startNode } from "../process.ts";
import { perCriterion } from "../review-verdict.ts";

const TOKEN = "shakedown-token-0123456789abcdef";
const FEEDBACK = "Quote the earlier review's feedback word for word, as the first criterion asks.";
let anthropic: AnthropicFake;
let hubspot: FakeHubSpot;
let local: OpenAIUpstream;
let engine: InngestDev;
let server: NodeProcess;
let db: TestDb | undefined;
let base = "";
const dataDir = mkdtempSync(join(tmpdir(), "foreman-shakedown-"));

/** The worker model: submits; revises with the feedback its dossier carries; takes the injection's bait. */
function worker(body: AnthropicRequestBody): ScriptedTurn {
  const transcript = JSON.stringify(body.messages);
  const turn = body.messages.filter((m) => m.role === "assistant").length;
  if (transcript.includes("Shakedown prompt-injection") && turn === 0) {
    return toolTurn("hubspot_delete_object", { objectType: "contacts", objectId: "1" });
  }
  if (transcript.includes("Shakedown hubspot-429") && turn < 2) {
    return toolTurn(turn === 0 ? "hubspot_get_properties" : "hubspot_get_pipelines", {
      objectType: "tickets",
    });
  }
  if (transcript.includes(FEEDBACK))
    return toolTurn("submit", { markdown: `As asked: "${FEEDBACK}"`, result: {} });
  return toolTurn("submit", { markdown: "Ticket pipelines: Support (New, Waiting, Closed).", result: {} });
}

/** The local model: triage asks for the internal stamp; the reviewer fails what misses its rubric. */
function localModel(): unknown {
  const last = local.requests.at(-1) as {
    response_format?: { json_schema?: { name?: string } };
    messages?: { content?: unknown }[];
  };
  if (last?.response_format?.json_schema?.name !== "review") {
    // Triage keeps the rubric the task was submitted with (lib/intake/triage.ts sends it as `submitted`).
    const asked = JSON.parse(String(last?.messages?.at(-1)?.content ?? "{}")) as {
      submitted?: { rubric?: string[] };
    };
    const rubric = asked.submitted?.rubric?.length ? asked.submitted.rubric : ["The request is done"];
    return {
      worker: "crm-setup",
      priority: "P2",
      rubric,
      internal_stamp_required: true,
      reason: "shakedown",
    };
  }
  const asked = JSON.stringify(last);
  const fails = asked.includes("word for word") && !asked.includes(FEEDBACK);
  return perCriterion(
    last,
    fails
      ? {
          criteria: [{ criterion: "quotes feedback", score: 2, pass: false, note: "nothing quoted" }],
          verdict: "fail",
          score: 2,
          feedback: FEEDBACK,
        }
      : {
          criteria: [{ criterion: "complete", score: 9, pass: true, note: "ok" }],
          verdict: "pass",
          score: 9,
          feedback: "Meets the rubric.",
        },
  );
}

beforeAll(async () => {
  [anthropic, hubspot, local, engine] = await Promise.all([
    startAnthropicFake(),
    startFakeHubSpot(),
    startOpenAIUpstream(),
    startInngestDev(),
  ]);
  anthropic.script.next = () => worker(anthropic.requests.at(-1)?.body as AnthropicRequestBody);
  Object.defineProperty(local.behaviour, "json", { configurable: true, get: localModel });
  if (process.env.TEST_DATABASE_URL) db = await createTestDb();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    FOREMAN_DATA_DIR: dataDir,
    FOREMAN_API_TOKEN: TOKEN,
    FOREMAN_DRY_RUN: "true",
    INNGEST_DEV: engine.url,
    INNGEST_BASE_URL: engine.url,
    ANTHROPIC_API_KEY: anthropic.apiKey,
    ANTHROPIC_BASE_URL: anthropic.url,
    BRIDGE_URL: local.url,
    BRIDGE_TOKEN: "bridge-token",
    LOCAL_MODEL: local.behaviour.model,
    HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
    HUBSPOT_BASE_URL: hubspot.url,
    STAMP_LINK_KEY: "shakedown-cli-link-key-0123456789abcdefgh",
  };
  for (const k of ["DATABASE_URL", "TEST_DATABASE_URL", "INNGEST_SIGNING_KEY", "OVERFLOW_BASE_URL"])
    delete env[k];
  if (db?.url) env.DATABASE_URL = db.url;
  server = startNode(["api/server.ts"], { env, ready: /api token:/ });
  await server.ready;
  await engine.register(`${base}/api/inngest`);
}, 120_000);

afterAll(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  killAll();
  await Promise.all([anthropic?.close(), hubspot?.close(), local?.close(), engine?.close()]);
  await db?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs the command as an operator does; resolves with its exit code and output. */
function shakedown(
  args: string[],
  env: Record<string, string> = { FOREMAN_URL: base, FOREMAN_API_TOKEN: TOKEN },
) {
  const child = spawn(process.execPath, ["lib/shakedown/cli.ts", ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, out, err })),
  );
}

/** The table's rows: scenario, ref, result, and the two path lines under it. */
function rows(out: string) {
  const lines = out.split("\n");
  return lines.flatMap((line, i) => {
    const m = /^(\S+)\s+(\S+) (task_\w+)\s+(OK|MISMATCH|TIMEOUT)\s+expected (.+)$/.exec(line);
    if (!m) return [];
    const observed = /^\s+observed (.+)$/.exec(lines[i + 1] ?? "")?.[1];
    return [{ scenario: m[1], ref: m[2], id: m[3], result: m[4], expected: m[5], observed }];
  });
}

describe("npm run shakedown against a running deployment", () => {
  it("runs the default scenarios in dry-run: every task on its expected path, exit 0", async () => {
    const run = await shakedown(["--mode", "dry-run", "--poll", "0.2", "--timeout", "240"]);

    expect(run.err).toBe("");
    expect(run.code, run.out).toBe(0);
    expect(run.out).toContain(`database ${db ? "postgres" : "pglite"}, engine dev, FOREMAN_DRY_RUN on`);
    const table = rows(run.out);
    // One task per scenario, three (slots + 2) for concurrent-dispatch on the day-1 single slot.
    expect(table.map((r) => r.scenario)).toEqual([
      ...SELF_STAGED.filter((s) => s !== "concurrent-dispatch"),
      "concurrent-dispatch",
      "concurrent-dispatch",
      "concurrent-dispatch",
    ]);
    for (const r of table) {
      const path = pathText(SCENARIOS[r.scenario as keyof typeof SCENARIOS].path);
      expect(r).toMatchObject({ result: "OK", expected: path, observed: path });
    }
    expect(run.out).toContain("at most 1 agent run(s) at once on crm-setup's 1 slot(s)");
    expect(run.out).toMatch(/^6 of 6 tasks took their expected path\.$/m);
    // The deployment ran cleanly under its engine, and the dry-run wrote nothing to HubSpot.
    expect(engine.problems).toEqual([]);
    expect(engine.runs.filter((r) => r.status === "failed").map((r) => [r.fn, r.error])).toEqual([]);
    expect(hubspot.writeCalls()).toEqual([]);
    expect(anthropic.requests.some((r) => JSON.stringify(r.body).includes("hubspot_delete_object"))).toBe(
      true,
    );
  }, 300_000);

  it("exits 1 on a mismatch: auth-loss claimed arranged while the model key still works", async () => {
    const run = await shakedown([
      "--mode",
      "dry-run",
      "--inject",
      "auth-loss",
      "--arranged",
      "--poll",
      "0.2",
    ]);

    expect(run.code, run.out).toBe(1);
    const [row] = rows(run.out);
    expect(row).toMatchObject({
      scenario: "auth-loss",
      result: "MISMATCH",
      expected: "intake → ready → working → triage",
      observed: "intake → ready → working → internal → client → done",
    });
    expect(run.out).toContain("! failure class none, expected auth");
    expect(run.out).toMatch(/0 of 1 tasks took their expected path; 1 mismatched, 0 timed out\./);
  }, 300_000);

  it("runs a staged injection once it is arranged: the model refuses the key → triage with class auth, exit 0", async () => {
    // What the operator arranges on a real deployment (a revoked key), done here at the provider.
    anthropic.fail({
      match: (c) => c.path === "/v1/messages",
      status: 401,
      body: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
    });
    try {
      const run = await shakedown([
        "--mode",
        "dry-run",
        "--inject",
        "auth-loss",
        "--arranged",
        "--poll",
        "0.2",
      ]);
      expect(run.code, run.out).toBe(0);
      expect(rows(run.out)).toMatchObject([
        { scenario: "auth-loss", result: "OK", observed: "intake → ready → working → triage" },
      ]);
      expect(run.out).toContain("Now undo the arrangement:");
      expect(run.out).toContain("resume the scheduler (foreman resume)");
    } finally {
      anthropic.clearFaults();
      // The refused key paused the scheduler (one alert): the operator's resume, once the key is back.
      const resumed = await fetch(`${base}/api/admin/resume`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(await resumed.json()).toMatchObject({ changed: true, paused: false });
    }
  }, 300_000);

  it("runs hubspot-429 once arranged: the refused reads are retried by the engine, no failure, exit 0", async () => {
    // The operator's burst, done here at HubSpot: each of the worker's two reads is refused once.
    const refusal = {
      status: 429,
      body: {
        status: "error",
        message: "You have reached your ten_secondly_rolling limit.",
        errorType: "RATE_LIMIT",
      },
      headers: { "X-HubSpot-RateLimit-Interval-Milliseconds": "10000", "X-HubSpot-RateLimit-Remaining": "0" },
      times: 1,
    };
    hubspot.fail({ ...refusal, match: (c) => c.method === "GET" && c.path === "/crm/v3/properties/tickets" });
    hubspot.fail({
      ...refusal,
      match: (c) => c.method === "GET" && c.path.startsWith("/crm/v3/pipelines/tickets"),
    });
    const reads = () =>
      hubspot.calls.filter((c) => c.method === "GET" && /properties|pipelines/.test(c.path)).length;
    const before = reads();
    try {
      const run = await shakedown([
        "--mode",
        "dry-run",
        "--inject",
        "hubspot-429",
        "--arranged",
        "--poll",
        "0.2",
      ]);
      expect(run.code, run.out).toBe(0);
      const [row] = rows(run.out);
      expect(row).toMatchObject({ scenario: "hubspot-429", result: "OK" });
      expect(reads() - before).toBe(4);
      const worked = engine.runs.filter((r) => r.fn === "foreman-work" && r.event.data.taskId === row?.id);
      expect(worked.map((r) => [r.status, r.requests > 2])).toEqual([["completed", true]]);
    } finally {
      hubspot.clearFaults();
    }
  }, 300_000);

  it("prints what to arrange for a staged injection and runs nothing without --arranged (exit 2)", async () => {
    const before = engine.events.length;
    const run = await shakedown(["--mode", "dry-run", "--inject", "local-down"]);
    expect(run.code).toBe(2);
    expect(run.out).toContain("local-down needs the deployment changed by hand before it can run:");
    expect(run.out).toContain("Stop the GPU bridge");
    expect(run.out).toContain("--inject local-down --arranged");
    expect(engine.events.length).toBe(before);
  });

  it("refuses what it cannot run, in one line each (exit 2)", async () => {
    const none = await shakedown(["--mode", "dry-run"], {});
    expect(none).toMatchObject({ code: 2, out: "" });
    expect(none.err.trim()).toBe(
      "foreman shakedown: no deployment given: set FOREMAN_URL and FOREMAN_API_TOKEN (or pass --url and --token).",
    );
    const badToken = await shakedown(["--mode", "dry-run", "--url", base, "--token", "wrong-token"], {});
    expect(badToken.code).toBe(2);
    expect(badToken.err).toContain("the API token was refused (401)");
    const live = await shakedown(["--mode", "live"]);
    expect(live.code).toBe(2);
    expect(live.err).toContain("the deployment runs with FOREMAN_DRY_RUN on");
    const mixed = await shakedown([
      "--mode",
      "dry-run",
      "--inject",
      "auth-loss,reviewer-reject",
      "--arranged",
    ]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain("auth-loss changes the whole deployment: run it alone");
  }, 120_000);
});
