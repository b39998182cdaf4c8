// Single ownership of an embedded PGlite data dir. PGlite itself lets two processes open the same
// directory and silently loses writes, so foreman holds a lock file (pid inside) while it owns the dir.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DomainError } from "../lib/errors.ts";

const LOCK_FILE = "foreman.lock";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes the lock or throws a CONFIG error naming the owning process. Returns the release function. */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
      if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
        throw new DomainError(
          "CONFIG",
          `The data dir ${dir} is already in use by process ${owner}. Stop that process, or point FOREMAN_DATA_DIR elsewhere.`,
          { field: "FOREMAN_DATA_DIR", details: { owner } },
        );
      }
      if (owner === process.pid) {
        throw new DomainError("CONFIG", `The data dir ${dir} is already open in this process.`, {
          field: "FOREMAN_DATA_DIR",
        });
      }
      // The owner is gone (crash, kill -9): the lock is stale.
      rmSync(path, { force: true });
    }
  }
  throw new DomainError("CONFIG", `Could not lock the data dir ${dir}.`, { field: "FOREMAN_DATA_DIR" });
}
