// The Worker bundle builds and boots in workerd (`wrangler dev`, offline) and serves the real app:
// /health through the Neon driver (ws proxy → Postgres, or → PGlite via pglite-socket), /api/inngest
// in dev mode — introspection, and a real function run from the executor's POST, checkpointing to a
// fake Inngest API — and the task API end to end.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tasks } from "../../db/schema/index.ts";
import { functions } from "../../functions/index.ts";
import { useTestDb } from "../db.ts";
import { executorRequest } from "../executor.ts";
import { type FakeInngest, startFakeInngest } from "../fakes/inngest.ts";
import { doneTaskWithDependent } from "../fixtures.ts";
import { startWsProxy, type WsProxy } from "../neon-proxy.ts";
import { freePort } from "../net.ts";
import { type PgEndpoint, pgEndpoint } from "../pg-endpoint.ts";

const TOKEN = "worker-test-token-0123456789";
const t = useTestDb();
let proxy: WsProxy;
let endpoint: PgEndpoint;
let inngestApi: FakeInngest;
let wrangler: ChildProcess;
let base: string;
let output = "";
const dir = mkdtempSync(join(tmpdir(), "foreman-worker-"));

async function waitForHealth(deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler exited early:\n${output}`);
    try {
      const res = await fetch(`${base}/health`);
      if (res.status === 200 || res.status === 503) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer within the deadline:\n${output}`);
}

beforeAll(async () => {
  proxy = await startWsProxy();
  endpoint = await pgEndpoint(t.current);
  // Checkpoints (and any event sends) from function runs go to this fake instead of localhost:8288.
  inngestApi = await startFakeInngest();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const envFile = join(dir, ".dev.vars");
  writeFileSync(
    envFile,
    [
      `DATABASE_URL=${endpoint.url}`,
      `NEON_WS_PROXY=${proxy.address}`,
      `FOREMAN_API_TOKEN=${TOKEN}`,
      "INNGEST_DEV=1",
      `INNGEST_BASE_URL=${inngestApi.url}`,
    ].join("\n"),
  );
  wrangler = spawn(
    process.execPath,
    [
      "node_modules/wrangler/bin/wrangler.js",
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--env-file",
      envFile,
      "--persist-to",
      join(dir, "state"),
      "--show-interactive-dev-session=false",
      // Exposes /__scheduled, so the test can fire the Cron Trigger (the outbox drain).
      "--test-scheduled",
      "--log-level",
      "warn",
    ],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  wrangler.stdout?.on("data", (d) => (output += d));
  wrangler.stderr?.on("data", (d) => (output += d));
  await waitForHealth(Date.now() + 90_000);
}, 120_000);

afterAll(async () => {
  if (wrangler?.pid && wrangler.exitCode === null) {
    const exited = new Promise((r) => wrangler.once("exit", r));
    process.kill(-wrangler.pid, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
  await endpoint?.close();
  await proxy?.close();
  await inngestApi?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Worker bundle in workerd", () => {
  it("answers /health with the Neon driver connected", async () => {
    const res = await fetch(`${base}/health`);
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ status: "ok", database: { driver: "neon", status: "ok" }, inngest: "dev" });
  });

  it("serves /api/inngest in dev mode with every function", async () => {
    const res = await fetch(`${base}/api/inngest`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      mode: "dev",
      function_count:
        functions.length +
        functions.filter((f) => (f as unknown as { opts: { onFailure?: unknown } }).opts.onFailure).length,
    });
  });

  it("runs promote from the executor's POST, checkpointing its steps, and moves the dependent", async () => {
    const db = t.current.db;
    const { dependent, event } = await doneTaskWithDependent(db);
    const req = executorRequest({ fnId: "foreman-promote", event });

    const res = await fetch(`${base}${req.path}`, req.init);

    const text = await res.text();
    expect(res.status, text).toBe(206);
    expect(JSON.parse(text)).toEqual([
      expect.objectContaining({ op: "RunComplete", data: { promoted: [dependent.id] } }),
    ]);
    const [row] = await db.select({ status: tasks.status }).from(tasks).where(eq(tasks.id, dependent.id));
    expect(row?.status).toBe("ready");
    const checkpoints = inngestApi.checkpoints().filter((c) => c.run_id === req.runId);
    expect(checkpoints[0]).toMatchObject({
      fn_id: req.internalFnId,
      qi_id: req.queueItemId,
      steps: [expect.objectContaining({ op: "StepRun", displayName: "promote-dependents" })],
    });
  });

  it("accepts a task and lists it in intake", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const created = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "from workerd" }),
    });
    expect(created.status).toBe(201);
    const { task } = (await created.json()) as { task: { id: string } };
    const list = (await (await fetch(`${base}/api/tasks?state=intake`, { headers })).json()) as {
      tasks: { id: string }[];
    };
    expect(list.tasks.map((x) => x.id)).toContain(task.id);
    const denied = await fetch(`${base}/api/tasks`);
    expect(denied.status).toBe(401);
  });

  it("signs in to the board and renders it through the Neon driver", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const created = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "on the board in workerd" }),
    });
    const { task } = (await created.json()) as { task: { id: string } };
    const signIn = await fetch(`${base}/board/login`, {
      method: "POST",
      redirect: "manual",
      headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: TOKEN, next: "/board" }).toString(),
    });
    expect(signIn.status, await signIn.clone().text()).toBe(303);
    const cookie = signIn.headers.get("set-cookie")?.split(";")[0] ?? "";
    expect(cookie).toMatch(/^foreman_board=/);
    const board = await fetch(`${base}/board`, { headers: { cookie }, redirect: "manual" });
    const page = await board.text();
    expect(board.status, page).toBe(200);
    const intake = page.slice(page.indexOf('data-state="intake"'));
    expect(intake.slice(0, intake.indexOf("</section>"))).toContain(`data-task-id="${task.id}"`);
    const fragment = await fetch(`${base}/board/fragment`, { headers: { cookie } });
    expect(fragment.status).toBe(200);
    expect(await fragment.text()).toContain("Tasks by state");
    const anonymous = await fetch(`${base}/board`, { redirect: "manual" });
    expect(anonymous.status).toBe(303);
  });

  it("drains the outbox from its Cron Trigger after the engine comes back", async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    inngestApi.eventsDown();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/api/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title: `queued in workerd ${i}` }),
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { task: { id: string }; warnings?: string[] };
      expect(body.warnings?.[0]).toContain("queued");
      ids.push(`task-submitted:${body.task.id}`);
    }
    for (const id of ids) expect(inngestApi.delivered.has(id)).toBe(false);
    inngestApi.eventsUp();
    // The rows back off after a failed send; move them due now, as time passing would.
    await t.current.db.execute(sql`update outbox set next_attempt_at = now() where sent_at is null`);
    const fired = await fetch(`${base}/__scheduled?cron=*+*+*+*+*`);
    expect(fired.status).toBe(200);
    const deadline = Date.now() + 20_000;
    while (ids.some((id) => !inngestApi.delivered.has(id)) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const id of ids) expect(inngestApi.delivered.get(id), `${id}\n${output}`).toBe(1);
    const pending = await t.current.db.execute(
      sql`select count(*)::int as n from outbox where sent_at is null`,
    );
    expect((pending as unknown as { rows: { n: number }[] }).rows[0]?.n).toBe(0);
  }, 60_000);
});
