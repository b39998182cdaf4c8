// Test Deps: a real database, a recording event sender (validates like Inngest's send) and a quiet
// logger, plus an app built on them exactly as the entry points build theirs.
import { createApp } from "../api/app.ts";
import { VERSION } from "../api/version.ts";
import type { AppDb } from "../db/types.ts";
import { type Config, loadConfig } from "../lib/config.ts";
import { createDeps, type Deps, type EventSender, type Logger } from "../lib/deps.ts";
import type { OutgoingEvent } from "../lib/events.ts";

export const TEST_TOKEN = "test-token-0123456789abcdef";

export interface RecordingSender extends EventSender {
  sent: OutgoingEvent[];
  scores: { runId: string; name: string; value: number | boolean }[];
  /** Make the next sends fail, as an unreachable Inngest would. */
  failWith: Error | undefined;
}

export function recordingSender(): RecordingSender {
  const sender: RecordingSender = {
    sent: [],
    scores: [],
    failWith: undefined,
    score: async (s) => {
      sender.scores.push(s);
    },
    send: async (events) => {
      const list = Array.isArray(events) ? events : [events];
      for (const e of list) await e.validate?.();
      if (sender.failWith) throw sender.failWith;
      sender.sent.push(...list);
      return { ids: list.map((e, i) => e.id ?? `evt_${sender.sent.length + i}`) };
    },
  };
  return sender;
}

export const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface TestDepsOptions {
  /** Replaces the recording sender (e.g. the real Inngest sender against a fake event API). */
  events?: (config: Config) => EventSender;
}

export function testDeps(db: AppDb, env: Record<string, string> = {}, opts: TestDepsOptions = {}) {
  const events = recordingSender();
  const config = loadConfig({ FOREMAN_API_TOKEN: TEST_TOKEN, ...env }, "node");
  const deps: Deps = {
    ...createDeps({
      config,
      db,
      dbKind: "pglite",
      events: opts.events ? opts.events(config) : events,
      version: VERSION,
    }),
    logger: quietLogger,
  };
  return { deps, events };
}

export function testApp(db: AppDb, env: Record<string, string> = {}, opts: TestDepsOptions = {}) {
  const { deps, events } = testDeps(db, env, opts);
  const app = createApp({ resolveDeps: () => ({ deps }) });
  const request = (path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== null) headers.set("authorization", `Bearer ${init.token ?? TEST_TOKEN}`);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return app.request(path, { ...init, headers, body });
  };
  return { app, deps, events, request };
}
