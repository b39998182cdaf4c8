// Decide (seed 002's rhythm: gather, decide, then act): is a digest worth sending? Not when nothing
// happened — no event in the period, no stamp waiting, nothing stuck, no failure. Spend alone does
// not count: a digest's own model call is spend without an event, and must not make the next
// digest worth sending by itself. Pure.
import type { Digest } from "./shape.ts";

export type DigestDecision = { send: true; because: string[] } | { send: false; reason: string };

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function worthSending(d: Digest): DigestDecision {
  const because = [
    d.events > 0 ? `${count(d.events, "event")} in the period` : null,
    d.stamps.total > 0 ? `${count(d.stamps.total, "stamp")} waiting` : null,
    d.stuck.total > 0 ? `${count(d.stuck.total, "task")} stuck` : null,
    d.failures.total > 0 ? count(d.failures.total, "failure") : null,
  ].filter((b): b is string => b !== null);
  if (because.length > 0) return { send: true, because };
  return {
    send: false,
    reason: `nothing happened from ${d.period.from} to ${d.period.to} (${d.period.timeZone}): no events, no stamps waiting, nothing stuck, no failures`,
  };
}
