// Group commit for single submissions: concurrent callers' tasks are written by one submitMany
// statement (one round trip, one commit for the lot), each caller still getting its own outcome. An
// idle process writes at once — nobody waits on a timer; under load the next batch forms while the
// current one is in flight. A batch refused as a whole (one bad foreign key, an inactive worker) is
// retried item by item, so only the bad submission fails and nothing is lost or mixed up.
import type { AppDb } from "../../db/types.ts";
import { isDomainError } from "../errors.ts";
import { submitTaskInput } from "./input.ts";
import { MAX_BATCH, type SubmitItem, type Submitted, submitMany, submitTask } from "./submit.ts";

interface Waiting {
  item: SubmitItem;
  resolve: (s: Submitted) => void;
  reject: (e: unknown) => void;
}

class SubmitBatcher {
  private queue: Waiting[] = [];
  private busy = false;
  private readonly db: AppDb;
  constructor(db: AppDb) {
    this.db = db;
  }

  submit(item: SubmitItem): Promise<Submitted> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.busy) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        if (batch.length === 1) {
          await this.one(batch[0] as Waiting);
          continue;
        }
        try {
          const outcomes = await submitMany(
            this.db,
            batch.map((w) => w.item),
          );
          batch.forEach((w, i) => {
            const o = outcomes[i];
            if (!o) w.reject(new Error("submit batch: missing outcome"));
            else if ("error" in o) w.reject(o.error);
            else w.resolve(o);
          });
        } catch (err) {
          // The statement refused the whole batch: find the culprit by writing each alone.
          if (!isDomainError(err)) {
            for (const w of batch) w.reject(err);
            continue;
          }
          for (const w of batch) await this.one(w);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private async one(w: Waiting): Promise<void> {
    try {
      w.resolve(await submitTask(this.db, w.item.input, w.item));
    } catch (err) {
      w.reject(err);
    }
  }
}

const batchers = new WeakMap<AppDb, SubmitBatcher>();

/**
 * submitTask, sharing the statement with concurrent submissions on the same database. Input errors
 * are raised before anything is queued, exactly as submitTask raises them.
 */
export function submitShared(db: AppDb, raw: unknown, opts: Omit<SubmitItem, "input">): Promise<Submitted> {
  // A bad input is refused here, alone, with the same ZodError submitTask throws.
  const input = opts.clean ? raw : submitTaskInput.parse(raw);
  let b = batchers.get(db);
  if (!b) {
    b = new SubmitBatcher(db);
    batchers.set(db, b);
  }
  return b.submit({ ...opts, input, parsed: !opts.clean });
}
