// One owner per embedded data dir: a second open is refused with a clear error; a stale lock from a
// dead process is taken over.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockDataDir } from "./pglite-lock.ts";

const dir = mkdtempSync(join(tmpdir(), "foreman-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("data dir lock", () => {
  it("refuses a second owner while the first holds the lock, then allows one after release", () => {
    const release = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(/already open in this process/);
    // Another live process owns it: pretend by writing this test runner's parent pid.
    release();
    writeFileSync(join(dir, "foreman.lock"), String(process.ppid));
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by process ${process.ppid}`));
    rmSync(join(dir, "foreman.lock"));
    lockDataDir(dir)();
  });

  it("takes over a stale lock left by a dead process", () => {
    const dead = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    writeFileSync(join(dir, "foreman.lock"), dead);
    const release = lockDataDir(dir);
    release();
  });
});
