// The fake-server harness every external-service fake builds on (HubSpot, Slack, Anthropic, OpenAI,
// bridge upstreams, Inngest's event API): a Hono app on a random loopback port that records every call
// and can inject faults (status codes, delays, dropped connections) ahead of the real routes.
import type { AddressInfo } from "node:net";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";

export interface FakeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export interface Fault {
  /** Only calls for which this returns true are affected (default: every call). */
  match?: (call: FakeCall) => boolean;
  /** Respond with this status instead of the real route. */
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (or before passing on to the real route when no status is set). */
  delayMs?: number;
  /** Called when the call arrives, answered once it settles: a test acts while the call is in flight. */
  hold?: () => Promise<unknown>;
  /** Destroy the TCP connection instead of answering. */
  drop?: boolean;
  /** How many calls this fault applies to (default: unlimited). */
  times?: number;
}

export type FakeEnv = { Bindings: HttpBindings };

export interface FakeServer {
  readonly url: string;
  readonly port: number;
  readonly calls: FakeCall[];
  callsTo(method: string, path: string | RegExp): FakeCall[];
  fail(fault: Fault): void;
  clearFaults(): void;
  reset(): void;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a fake on 127.0.0.1:<random>. `routes` registers the real behaviour of the faked service. */
export async function startFake(routes: (app: Hono<FakeEnv>) => void): Promise<FakeServer> {
  const calls: FakeCall[] = [];
  let faults: Fault[] = [];
  const app = new Hono<FakeEnv>();

  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    const call: FakeCall = {
      method: c.req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(c.req.raw.headers),
      body: await c.req.raw.clone().text(),
      at: Date.now(),
    };
    calls.push(call);
    const fault = faults.find((f) => (f.times === undefined || f.times > 0) && (f.match?.(call) ?? true));
    if (!fault) return next();
    if (fault.times !== undefined) fault.times -= 1;
    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.hold) await fault.hold();
    if (fault.drop) {
      c.env.incoming.socket.destroy();
      return new Response(null, { status: 599 });
    }
    if (fault.status === undefined) return next();
    const body = fault.body === undefined ? null : JSON.stringify(fault.body);
    return new Response(body, {
      status: fault.status,
      headers: { "content-type": "application/json", ...fault.headers },
    });
  });
  routes(app);

  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    calls,
    callsTo: (method, path) =>
      calls.filter(
        (c) => c.method === method && (typeof path === "string" ? c.path === path : path.test(c.path)),
      ),
    fail: (fault) => {
      faults.push(fault);
    },
    clearFaults: () => {
      faults = [];
    },
    reset: () => {
      calls.length = 0;
      faults = [];
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
