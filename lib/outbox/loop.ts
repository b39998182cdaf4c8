// The Node server's drain timer: every interval, longer while the engine keeps failing (doubling up
// to 5× the interval), back to normal after a drain that sent without error. Never overlaps itself.
import type { Deps } from "../deps.ts";
import { type DrainOptions, drainOutbox } from "./drain.ts";

export interface DrainLoop {
  stop(): Promise<void>;
  /** Drains now (used at start-up); resolves when that drain finished. */
  kick(): Promise<void>;
}

export function startDrainLoop(
  deps: Pick<Deps, "config" | "db" | "events" | "logger" | "now">,
  opts: DrainOptions & { intervalMs: number },
): DrainLoop {
  let delay = opts.intervalMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const tick = async () => {
    try {
      const res = await drainOutbox(deps, opts);
      if (res.sent > 0) deps.logger.info("outbox: drained", { sent: res.sent, pruned: res.pruned });
      delay = res.error === undefined ? opts.intervalMs : Math.min(delay * 2, opts.intervalMs * 5);
    } catch (err) {
      delay = Math.min(delay * 2, opts.intervalMs * 5);
      deps.logger.error("outbox: drain failed", { error: String(err) });
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = running.then(tick).then(schedule);
    }, delay);
    timer.unref?.();
  };
  schedule();
  return {
    kick: () => {
      running = running.then(tick);
      return running;
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
