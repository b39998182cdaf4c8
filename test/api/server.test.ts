// `npm start` as a newcomer runs it: the embedded default prints its URLs and token, serves /health
// and the task API, refuses a second owner of the data dir, shuts down cleanly on Ctrl-C, and keeps
// tasks and the generated token across a restart.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tokenLines } from "../../api/server.ts";
import { freePort } from "../net.ts";
import { killAll, startNode } from "../process.ts";

const dir = mkdtempSync(join(tmpdir(), "foreman-start-"));
afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

function start(port: number) {
  const env: NodeJS.ProcessEnv = { ...process.env, FOREMAN_DATA_DIR: dir, PORT: String(port) };
  for (const k of [
    "DATABASE_URL",
    "FOREMAN_API_TOKEN",
    "INNGEST_DEV",
    "INNGEST_BASE_URL",
    "TEST_DATABASE_URL",
  ]) {
    delete env[k];
  }
  return startNode(["api/server.ts"], { env, ready: /api token:\s+(\S+)/ });
}

describe("npm start (embedded default)", () => {
  it("starts, prints where everything is, serves health and tasks, and survives a restart", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = start(port);
    await first.ready;
    const out = first.output();
    expect(out).toContain(`app:         ${base}`);
    expect(out).toContain(`${base}/api/inngest (dev mode)`);
    expect(out).toContain(`npx inngest-cli dev -u ${base}/api/inngest`);
    expect(out).toContain("dry-run ON");
    const token = (await first.ready)[1] as string;
    expect(token).toMatch(/^fm_/);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      database: { driver: "pglite", status: "ok" },
      dry_run: true,
    });

    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const created = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "hello" }),
    });
    expect(created.status).toBe(201);
    const { task } = (await created.json()) as { task: { id: string } };
    const listed = (await (await fetch(`${base}/api/tasks`, { headers })).json()) as {
      tasks: { id: string; state: string }[];
    };
    expect(listed.tasks).toEqual([expect.objectContaining({ id: task.id, state: "intake" })]);

    // A second process on the same data dir is refused before it touches the database.
    const intruder = start(await freePort());
    await expect(intruder.ready).rejects.toThrow(/already in use by process/);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    expect(existsSync(join(dir, "foreman.lock"))).toBe(false);

    const second = start(port);
    expect((await second.ready)[1]).toBe(token);
    const again = (await (await fetch(`${base}/api/tasks`, { headers })).json()) as {
      tasks: { id: string }[];
    };
    expect(again.tasks.map((x) => x.id)).toEqual([task.id]);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 60_000);
});

describe("the start banner's token lines", () => {
  it("show a generated token, never a configured one", () => {
    const base = "http://localhost:8787";
    const generated = tokenLines({ token: "fm_abc", generated: true, path: "/data/api-token" }, base).join(
      "\n",
    );
    expect(generated).toContain("fm_abc  (generated, stored in /data/api-token)");
    const configured = tokenLines({ token: "prod-secret-token-123", generated: false }, base).join("\n");
    expect(configured).not.toContain("prod-secret-token-123");
    expect(configured).toContain("api token:   FOREMAN_API_TOKEN (configured; not printed)");
    expect(configured).toContain('curl -H "Authorization: Bearer $FOREMAN_API_TOKEN"');
  });
});
