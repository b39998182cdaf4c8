// `node bin/foreman.ts …` as a person runs it, against a real HTTP server (the test app served by
// @hono/node-server on a free port, on the test database): every command's table or line, the state
// rules as exit 1 with the API's one line, usage errors as exit 2, --json, missing URL or token, and
// `npm start` then `foreman tasks list` with nothing set but the data dir the server wrote.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskDependencies, tasks, tokenUsage, workers } from "../../db/schema/index.ts";
import { newId } from "../../lib/ids.ts";
import { pauseScheduler } from "../../lib/scheduler/pause.ts";
import { useTestDb } from "../db.ts";
import { TEST_TOKEN, testApp } from "../deps.ts";
import { insertTask } from "../fixtures.ts";
import { freePort } from "../net.ts";
import { killAll, startNode } from "../process.ts";

const BIN = join(import.meta.dirname, "../../bin/foreman.ts");
const t = useTestDb();
const home = mkdtempSync(join(tmpdir(), "foreman-cli-"));
let base = "";
let api: ReturnType<typeof testApp>;
let close: () => Promise<void>;

beforeAll(async () => {
  api = testApp(t.current.db);
  const server = serve({ fetch: api.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((resolve) => server.close(() => resolve()));
});
afterAll(async () => {
  killAll();
  await close?.();
  rmSync(home, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with only the environment given (no FOREMAN_* leaks in from the test runner). */
function foreman(args: string[], env: Record<string, string> = {}, cwd = home): Promise<Run> {
  const connected = { FOREMAN_URL: base, FOREMAN_API_TOKEN: TEST_TOKEN, FOREMAN_ACTOR: "tester" };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH ?? "", HOME: home, ...connected, ...env } },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
const unset = { FOREMAN_URL: "", FOREMAN_API_TOKEN: "" };
const stateOf = async (id: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
const failed = (title = "failed fixture") =>
  insertTask(t.current.db, {
    status: "failed_needs_triage",
    statusReason: "auth: the key was revoked",
    failureClass: "auth",
    title,
  });

describe("foreman tasks list", () => {
  it("prints an aligned table, titles cut with …, ages relative, filters by state and class", async () => {
    const long = `Configure the Service Hub ticket pipeline for ${"a very demanding client ".repeat(4)}`;
    const a = await insertTask(t.current.db, { status: "ready", title: long });
    const b = await failed("Import the contacts");
    const run = await foreman(["tasks", "list", "--limit", "100"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    const header = lines[0] as string;
    expect(header).toMatch(/^ID\s+STATE\s+CLASS\s+LANE\s+PROJECT\s+WORKER\s+AGE\s+TITLE$/);
    const rowA = lines.find((l) => l.startsWith(a.id)) as string;
    const rowB = lines.find((l) => l.startsWith(b.id)) as string;
    // Every column starts where its header does.
    for (const col of ["STATE", "LANE", "PROJECT", "WORKER", "TITLE"]) {
      const at = header.indexOf(col);
      expect(rowA.slice(at)).toMatch(/^\S/);
      expect(rowB.slice(at)).toMatch(/^\S/);
    }
    expect(rowA.slice(header.indexOf("STATE"))).toMatch(/^ready /);
    expect(rowB.slice(header.indexOf("CLASS"))).toMatch(/^auth /);
    expect(rowA).toMatch(/\s\d+s\s+Configure the Service Hub/);
    expect(rowA.endsWith("…")).toBe(true);
    expect(rowA.length).toBeLessThan(header.indexOf("TITLE") + 61);
    expect(rowB.endsWith("Import the contacts")).toBe(true);

    const onlyFailed = await foreman([
      "tasks",
      "list",
      "--state",
      "failed_needs_triage",
      "--failure-class",
      "auth",
    ]);
    expect(onlyFailed.stdout).toContain(b.id);
    expect(onlyFailed.stdout).not.toContain(a.id);

    const json = await foreman(["--json", "tasks", "list", "--state", "ready"]);
    expect(JSON.parse(json.stdout).tasks.map((x: { id: string }) => x.id)).toContain(a.id);
  });

  it("refuses bad filters as usage errors (exit 2) without calling the server", async () => {
    const bad = await foreman(["tasks", "list", "--state", "sleeping"], {
      FOREMAN_URL: "http://127.0.0.1:9",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^foreman: --state must be one of: intake, ready, .*cancelled\n$/);
    const option = await foreman(["workers", "--state", "ready"]);
    expect(option).toMatchObject({ code: 2, stdout: "" });
    expect(option.stderr).toBe("foreman workers: takes no --state (see: foreman workers --help)\n");
    expect((await foreman(["tasks", "frobnicate"])).code).toBe(2);
    expect((await foreman(["tasks", "show"])).stderr).toBe(
      "foreman tasks show: missing ID (see: foreman tasks show --help)\n",
    );
  });
});

describe("foreman tasks show", () => {
  it("prints the task and its timeline oldest first, notes included", async () => {
    const created = (await (
      await api.request("/api/tasks", { method: "POST", json: { title: "Set up the pipeline" } })
    ).json()) as { task: { id: string } };
    const id = created.task.id;
    const noted = await foreman(["tasks", "note", id, "called", "the", "client"]);
    expect(noted).toMatchObject({ code: 0, stderr: "" });
    expect(noted.stdout).toMatch(new RegExp(`^note added to ${id} \\(event \\d+\\)\\n$`));

    const run = await foreman(["tasks", "show", id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${id}  Set up the pipeline`);
    expect(run.stdout).toMatch(/state\s+intake/);
    expect(run.stdout).toMatch(/actions\s+cancel, note/);
    const log = run.stdout.slice(run.stdout.indexOf("timeline"));
    expect(log).toMatch(/AGE\s+EVENT\s+ACTOR\s+DETAIL/);
    expect(log.indexOf("submitted")).toBeLessThan(log.indexOf("note"));
    expect(log).toMatch(/\d+s\s+note\s+api:tester\s+called the client/);
  });

  it("shows a failed task's reason, class, what to do and the commands that apply", async () => {
    const task = await failed("Import the contacts");
    const run = await foreman(["tasks", "show", task.id]);
    expect(run.stdout).toContain(
      "state      failed_needs_triage — auth: the key was revoked\n" +
        "           class auth: a key or token was refused: fix the credential, then retry\n",
    );
    expect(run.stdout).toContain("actions    retry, skip, cancel, reassign, note\n");
    expect(run.stdout).toContain("no events yet");
  });

  it("says the API's 404 in one line and exits 1", async () => {
    const id = newId("task");
    const run = await foreman(["tasks", "show", id]);
    expect(run).toMatchObject({ code: 1, stdout: "" });
    expect(run.stderr).toBe(`foreman: Task ${id} does not exist. (404 NOT_FOUND, field taskId)\n`);
  });
});

describe("state commands", () => {
  it("retries a failed task, then refuses a second retry with the state and the allowed actions", async () => {
    const task = await failed();
    const ok = await foreman(["tasks", "retry", task.id, "--reason", "key rotated"]);
    expect(ok).toMatchObject({ code: 0, stderr: "" });
    expect(ok.stdout).toMatch(new RegExp(`^${task.id}: failed_needs_triage → ready \\(event \\d+\\)\\n$`));
    expect(await stateOf(task.id)).toBe("ready");

    const again = await foreman(["tasks", "retry", task.id]);
    expect(again).toMatchObject({ code: 1, stdout: "" });
    expect(again.stderr).toBe(
      `foreman: Task ${task.id} is ready: retry does not apply there (allowed: cancel, reassign, note). (409 INVALID_TRANSITION, field state)\n`,
    );
    const json = await foreman(["tasks", "retry", task.id, "--json"]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.details).toMatchObject({ state: "ready" });
  });

  it("skips a failed task and names the dependents it unblocks; refuses to skip a ready one", async () => {
    const db = t.current.db;
    const task = await failed();
    const dependent = await insertTask(db, { status: "intake", triagedAt: new Date(), title: "next step" });
    await db.insert(taskDependencies).values({ taskId: dependent.id, dependsOnId: task.id });
    const run = await foreman(["tasks", "skip", task.id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `${run.stdout.split("\n")[0]}\nunblocks ${dependent.id} next step — promote moves it to ready\n`,
    );
    expect(run.stdout).toMatch(new RegExp(`^${task.id}: failed_needs_triage → done \\(event \\d+\\)`));
    expect(await stateOf(task.id)).toBe("done");
    expect((await foreman(["tasks", "list", "--state", "done"])).stdout).toMatch(
      new RegExp(`${task.id}\\s+done \\(skipped\\)`),
    );

    const ready = await insertTask(db, { status: "ready" });
    const refused = await foreman(["tasks", "skip", ready.id]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is ready: skip does not apply there`);
  });

  it("cancels an open task and refuses to cancel a finished one", async () => {
    const working = await insertTask(t.current.db, { status: "working" });
    const ok = await foreman(["tasks", "cancel", working.id, "--reason", "client withdrew"]);
    expect(ok.stdout).toMatch(new RegExp(`^${working.id}: working → cancelled`));
    expect(await stateOf(working.id)).toBe("cancelled");
    const again = await foreman(["tasks", "cancel", working.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`is cancelled: cancel does not apply there (allowed: note)`);
  });

  it("unblocks a blocked task and reassigns a ready one", async () => {
    const blocked = await insertTask(t.current.db, { status: "blocked_external" });
    expect((await foreman(["tasks", "unblock", blocked.id])).stdout).toMatch(/blocked_external → ready/);
    const worker = `w-${newId("wkr").slice(-8)}`;
    await t.current.db.insert(workers).values({ id: worker, name: "Other", agentType: "crm" });
    const run = await foreman(["tasks", "reassign", blocked.id, worker]);
    expect(run.stdout).toMatch(
      new RegExp(`^${blocked.id}: worker crm-setup → ${worker} \\(ready, event \\d+\\)\\n$`),
    );
    const same = await foreman(["tasks", "reassign", blocked.id, worker]);
    expect(same.stdout).toBe(`${blocked.id} already has worker ${worker}; nothing changed\n`);
    const unknown = await foreman(["tasks", "reassign", blocked.id, "nobody"]);
    expect(unknown.stderr).toBe("foreman: Worker nobody does not exist. (400 VALIDATION, field worker)\n");
  });

  it("prints the API's warnings on a reassign and on a retry that triages again, while the engine is down", async () => {
    const ready = await insertTask(t.current.db, { status: "ready" });
    const worker = `w-${newId("wkr").slice(-8)}`;
    await t.current.db.insert(workers).values({ id: worker, name: "Other", agentType: "crm" });
    const untriaged = await insertTask(t.current.db, { status: "failed_needs_triage", triagedAt: null });
    api.events.failWith = new Error("fetch failed");
    try {
      const moved = await foreman(["tasks", "reassign", ready.id, worker]);
      expect(moved.stdout.split("\n")[1]).toBe(
        "warning: task/ready is queued: the engine is unreachable (fetch failed); re-sent automatically.",
      );
      const retried = await foreman(["tasks", "retry", untriaged.id]);
      expect(retried.stdout).toMatch(new RegExp(`^${untriaged.id}: stays failed_needs_triage `));
      expect(retried.stdout).toContain(
        "\nwarning: task/retriage.requested is queued: the engine is unreachable (fetch failed); re-sent automatically.\n",
      );
    } finally {
      api.events.failWith = undefined;
    }
  });
});

describe("queue commands", () => {
  it("prints workers, budget and failures as tables", async () => {
    await failed();
    const w = await foreman(["workers"]);
    expect(w.code).toBe(0);
    expect(w.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+TIER\s+ACTIVE\s+SLOTS\s+BUSY\s+QUEUED\n/);
    expect(w.stdout).toMatch(/crm-setup\s+CRM setup\s+crm\s+primary\s+yes\s+1\s+0\s+\d+/);

    const b = await foreman(["budget"]);
    expect(b.code).toBe(0);
    expect(b.stdout).toMatch(/^today\s+\d{4}-\d{2}-\d{2} \(UTC\)\ntokens\s+0 of 2,000,000 \(0 %\)/);
    expect(b.stdout).toContain("scheduler  running");

    const f = await foreman(["failures"]);
    expect(f.stdout).toMatch(/^CLASS\s+TASKS\s+WHAT TO DO\nauth\s+\d+\s+a key or token was refused/);
  });

  it("pauses with a reason and resumes, saying when nothing changed", async () => {
    const p = await foreman(["pause", "--reason", "CRM maintenance"]);
    expect(p.stdout).toBe(
      "scheduler paused — CRM maintenance: nothing new is leased until `foreman resume`\n",
    );
    const again = await foreman(["pause"]);
    expect(again.stdout).toMatch(
      /^scheduler was already paused \(PAUSED \d+s ago — CRM maintenance \(by api:tester\)\)\n$/,
    );
    expect((await foreman(["budget"])).stdout).toMatch(/scheduler\s+PAUSED/);
    expect((await foreman(["resume"])).stdout).toBe("scheduler resumed\n");
    expect((await foreman(["resume"])).stdout).toBe("scheduler was not paused\n");
  });

  it("prints the warning when the engine could not be told, and the API's reason when a resume is refused", async () => {
    api.events.failWith = new Error("fetch failed");
    try {
      const p = await foreman(["pause", "--reason", "engine maintenance"]);
      expect(p.stdout).toBe(
        "scheduler paused — engine maintenance: nothing new is leased until `foreman resume`\n" +
          "warning: scheduler/paused is queued: the engine is unreachable (fetch failed); re-sent automatically.\n",
      );
    } finally {
      api.events.failWith = undefined;
    }
    // Today's budget spent (the test app's cap is 2,000,000 tokens): the resume is refused, exit 1.
    const usage = await t.current.db
      .insert(tokenUsage)
      .values({
        provider: "anthropic",
        model: "m",
        tier: "primary",
        tokensIn: 2_000_000,
        tokensOut: 1,
        costUsd: "0",
      })
      .returning({ id: tokenUsage.id });
    try {
      const refused = await foreman(["resume"]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^foreman: Today's budget \(\d{4}-\d{2}-\d{2} UTC\) is spent: 2,000,001 of 2,000,000 tokens \(FOREMAN_DAILY_TOKEN_BUDGET\)\..* \(409 CONFLICT\)\n$/,
      );
    } finally {
      await t.current.db.delete(tokenUsage).where(eq(tokenUsage.id, usage[0]?.id as number));
    }
    expect((await foreman(["resume"])).stdout).toBe("scheduler resumed\n");
  });

  it("says when the budget holds the pause, and a person's pause takes it over", async () => {
    await pauseScheduler(t.current.db, {
      reason: "daily token budget spent",
      actor: "fn:schedule",
      now: new Date(),
      budgetDay: "2031-03-09",
    });
    expect((await foreman(["budget"])).stdout).toMatch(
      /scheduler\s+PAUSED \d+s ago — daily token budget spent \(by fn:schedule\); lifts itself on a new UTC day after 2031-03-09\n/,
    );
    const p = await foreman(["pause", "--reason", "CRM maintenance"]);
    expect(p.stdout).toBe(
      "scheduler paused — CRM maintenance: nothing new is leased until `foreman resume`\n",
    );
    const b = (await foreman(["budget"])).stdout;
    expect(b).toMatch(/scheduler\s+PAUSED \d+s ago — CRM maintenance \(by api:tester\)\n/);
    expect(b).not.toContain("lifts itself");
    expect((await foreman(["resume"])).stdout).toBe("scheduler resumed\n");
  });
});

describe("connection", () => {
  it("explains in one line, exit 2, when there is no URL or no token", async () => {
    const none = await foreman(["tasks", "list"], unset);
    expect(none.code).toBe(2);
    expect(none.stderr.split("\n")).toHaveLength(2); // one line and its newline
    expect(none.stderr).toContain("set FOREMAN_URL and FOREMAN_API_TOKEN (or pass --url and --token)");
    expect(none.stderr).toContain(join(home, ".foreman", "api-token"));

    const noToken = await foreman(["tasks", "list"], { ...unset, FOREMAN_URL: base });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toBe(
      `foreman: no API token: set FOREMAN_API_TOKEN or pass --token (npm start prints it and keeps it in ${join(home, ".foreman", "api-token")})\n`,
    );
    const flags = await foreman(["tasks", "list", "--url", base, "--token", TEST_TOKEN], unset);
    expect(flags.code).toBe(0);
  });

  it("shows a wrong token and an unreachable server as one line, exit 1", async () => {
    const wrong = await foreman(["budget"], { FOREMAN_API_TOKEN: "not-the-token-at-all" });
    expect(wrong).toMatchObject({ code: 1, stdout: "" });
    expect(wrong.stderr).toBe(
      "foreman: Invalid bearer token. (401 UNAUTHORIZED, field Authorization) — check FOREMAN_API_TOKEN / --token\n",
    );
    const port = await freePort();
    const down = await foreman(["budget"], { FOREMAN_URL: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `foreman: cannot reach http://127.0.0.1:${port} (ECONNREFUSED): is foreman running there? (npm start)\n`,
    );
  });

  it("sends the data dir's token only to a loopback server", async () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-cli-dir-"));
    writeFileSync(join(dir, "api-token"), `${TEST_TOKEN}\n`);
    const local = await foreman(["tasks", "list", "--limit", "1"], {
      ...unset,
      FOREMAN_DATA_DIR: dir,
      FOREMAN_URL: base,
    });
    expect(local).toMatchObject({ code: 0, stderr: "" });
    const remote = await foreman(["tasks", "list"], {
      ...unset,
      FOREMAN_DATA_DIR: dir,
      FOREMAN_URL: "https://foreman.example.com",
    });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/^foreman: no API token/);
    rmSync(dir, { recursive: true, force: true });
  });

  it("prints help per command with exit 0, and the command list on a bare `foreman` with exit 2", async () => {
    const help = await foreman(["tasks", "retry", "--help"], unset);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toMatch(/^usage: foreman tasks retry ID \[--reason TEXT\]\n/);
    const bare = await foreman([], unset);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("tasks reassign ID WORKER");
    expect((await foreman(["help", "budget"], unset)).stdout).toMatch(/^usage: foreman budget\n/);
  });
});

describe("npm start, then foreman tasks list", () => {
  it("lists the server's tasks with only the data dir the server wrote", async () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-cli-start-"));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, FOREMAN_DATA_DIR: dir, PORT: String(port) };
    const server = startNode(["api/server.ts"], { env, ready: /api token:\s+(\S+)/ });
    await server.ready;
    const token = readFileSync(join(dir, "api-token"), "utf8").trim();
    const res = await fetch(`http://127.0.0.1:${port}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Configure Service Hub" }),
    });
    const { task } = (await res.json()) as { task: { id: string } };
    // The port is not npm start's default here, so the URL is given; the token comes from the dir.
    const run = await foreman(["tasks", "list"], {
      ...unset,
      FOREMAN_DATA_DIR: dir,
      FOREMAN_URL: `http://127.0.0.1:${port}`,
    });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^ID\s+STATE\s+LANE\s+PROJECT\s+WORKER\s+AGE\s+TITLE\n/);
    expect(run.stdout).toMatch(
      new RegExp(`${task.id}\\s+intake\\s+P2\\s+proj_default\\s+crm-setup\\s+\\d+s\\s+Configure Service Hub`),
    );
    server.child.kill("SIGINT");
    expect(await server.exited).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("is the package's bin, a Node script", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8"));
    expect(pkg.bin).toEqual({ foreman: "bin/foreman.ts" });
    expect(readFileSync(BIN, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});
