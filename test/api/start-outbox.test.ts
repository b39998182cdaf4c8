// Acceptance for the outbox, as a person runs it: `npm start` while the Inngest event API is
// unreachable, submit a task, bring the API up — the event arrives without a restart, sent by the
// server's own drain timer (no engine, no cron). `.env` in the working directory is read too.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeInngest, startFakeInngest } from "../fakes/inngest.ts";
import { freePort } from "../net.ts";
import { killAll, startNode } from "../process.ts";

const dir = mkdtempSync(join(tmpdir(), "foreman-outbox-"));
let engine: FakeInngest;
beforeAll(async () => {
  engine = await startFakeInngest();
});
afterAll(async () => {
  killAll();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("npm start with the engine unreachable", () => {
  it("delivers a task's event once the event API is back, without a restart", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The drain interval comes from .env, as the README promises (`node --env-file-if-exists=.env`).
    writeFileSync(join(dir, ".env"), "FOREMAN_OUTBOX_DRAIN_SECONDS=1\n");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FOREMAN_DATA_DIR: join(dir, "data"),
      PORT: String(port),
    };
    for (const k of ["DATABASE_URL", "FOREMAN_API_TOKEN", "INNGEST_BASE_URL", "TEST_DATABASE_URL"])
      delete env[k];
    env.INNGEST_DEV = engine.url;
    engine.eventsDown();
    const server = startNode(["--env-file-if-exists=.env", join(process.cwd(), "api/server.ts")], {
      env,
      ready: /api token:\s+(\S+)/,
      cwd: dir,
    });
    const token = (await server.ready)[1] as string;

    const res = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "while the engine is down" }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { task: { id: string }; warnings?: string[] };
    expect(body.warnings?.[0]).toContain("queued");
    const eventId = `task-submitted:${body.task.id}`;
    expect(engine.delivered.has(eventId)).toBe(false);
    const health = (await (await fetch(`${base}/health`)).json()) as { outbox: { pending: number } };
    expect(health.outbox.pending).toBe(1);

    engine.eventsUp();
    await until("the drained event", () => (engine.delivered.has(eventId) ? true : undefined), 20_000);
    expect(engine.delivered.get(eventId)).toBe(1);
    const after = (await (await fetch(`${base}/health`)).json()) as { outbox: { pending: number } };
    expect(after.outbox.pending).toBe(0);
    server.child.kill("SIGINT");
    expect(await server.exited).toBe(0);
  }, 60_000);
});
