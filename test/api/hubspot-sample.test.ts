// Acceptance for the sample sender, as a person runs it: `npm start` with HUBSPOT_APP_SECRET in .env,
// then `npm run hubspot:sample -- --url <app>` with the same secret → GET /api/tasks lists the
// ticket's task, and the engine got its `task/submitted`.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeInngest, startFakeInngest } from "../fakes/inngest.ts";
import { freePort } from "../net.ts";
import { killAll, startNode } from "../process.ts";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "foreman-hubspot-sample-"));
let engine: FakeInngest;
beforeAll(async () => {
  engine = await startFakeInngest();
});
afterAll(async () => {
  killAll();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("npm run hubspot:sample against npm start", () => {
  it("signs a ticket-created batch the server accepts; the task is listed", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The server reads the secret from .env in its working directory, as the README says. npm runs
    // the script in the package root (whose .env is not the test's), so it gets the secret from the
    // environment, which wins over any .env there.
    const secret = "sample-secret-for-the-test";
    writeFileSync(join(dir, ".env"), `HUBSPOT_APP_SECRET=${secret}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FOREMAN_DATA_DIR: join(dir, "data"),
      PORT: String(port),
    };
    for (const k of [
      "DATABASE_URL",
      "FOREMAN_API_TOKEN",
      "FOREMAN_PUBLIC_URL",
      "HUBSPOT_APP_SECRET",
      "HUBSPOT_PORTAL_ID",
      "INNGEST_BASE_URL",
      "TEST_DATABASE_URL",
    ])
      delete env[k];
    env.INNGEST_DEV = engine.url;
    const server = startNode(["--env-file-if-exists=.env", join(process.cwd(), "api/server.ts")], {
      env,
      ready: /api token:\s+(\S+)/,
      cwd: dir,
    });
    const token = (await server.ready)[1] as string;

    const ticket = "21474836480123";
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const { stdout } = await run(
      npm,
      [
        "run",
        "--silent",
        "--prefix",
        process.cwd(),
        "hubspot:sample",
        "--",
        "--url",
        base,
        "--ticket",
        ticket,
      ],
      { env: { ...env, HUBSPOT_APP_SECRET: secret }, cwd: dir },
    ).catch((err: { stdout?: string; stderr?: string }) => {
      throw new Error(
        `hubspot:sample failed:\n${err.stdout}\n${err.stderr}\n--- server:\n${server.output()}`,
      );
    });
    expect(stdout).toContain("200 OK");
    expect(stdout).toContain('"created":1');

    const list = (await (
      await fetch(`${base}/api/tasks?state=intake`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { tasks: { id: string; source: string; source_ref: string; title: string }[] };
    const task = list.tasks.find((t) => t.source_ref === ticket);
    expect(task).toMatchObject({ source: "hubspot", title: `HubSpot ticket ${ticket}` });
    expect(engine.deliveredNames.get(`task-submitted:${task?.id}`)).toBe("task/submitted");

    server.child.kill("SIGINT");
    expect(await server.exited).toBe(0);
  }, 60_000);
});
