// createBridge(config): wires the bridge's parts (slots, upstream pool, health checks, metrics,
// per-request accounting) into one node:http server, routes its four endpoints, and owns graceful shutdown: stop accepting, refuse
// the queue, let in-flight requests finish until a deadline, then cut what is left. A factory so tests
// and the benchmark can start any number of bridges on port 0.
import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type AccountingRecord, type AccountingSink, newAccount, type RequestAccount } from "./accounting.ts";
import { createAuth } from "./auth.ts";
import { type ChatContext, handleChat } from "./chat.ts";
import type { BridgeConfig } from "./config.ts";
import { HealthChecker } from "./health.ts";
import { BridgeMetrics, type GaugeSnapshot } from "./metrics.ts";
import { handleModels } from "./models.ts";
import { sendError, sendJson } from "./respond.ts";
import { Slots } from "./slots.ts";
import { UpstreamClient } from "./upstream-http.ts";
import { UpstreamPool } from "./upstreams.ts";

export type BridgeLog = (event: string, fields?: Record<string, unknown>) => void;

export interface Bridge {
  readonly server: http.Server;
  /** Starts listening and health checking; resolves with the base URL (http://host:port). */
  listen(port?: number, host?: string): Promise<string>;
  /** Graceful shutdown: in-flight requests get up to drainMs, then are cut. */
  close(drainMs?: number): Promise<void>;
  /** Runs one health-check round now (tests and operators need not wait for the interval). */
  checkHealth(): Promise<void>;
}

const jsonLog: BridgeLog = (event, fields) =>
  console.log(JSON.stringify({ at: new Date().toISOString(), service: "bridge", event, ...fields }));

const CHAT = "/v1/chat/completions";
const ROUTES = new Set([CHAT, "/v1/models", "/health", "/metrics"]);
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export interface BridgeOptions {
  log?: BridgeLog;
  /** Receives one record per request (not /health, /metrics); default: a "request" log line. */
  accounting?: AccountingSink;
}

// Monitoring routes are counted in bridge_requests_total but leave no accounting record.
const UNACCOUNTED = new Set(["/health", "/metrics"]);

export function createBridge(config: BridgeConfig, opts: BridgeOptions = {}): Bridge {
  const log = opts.log ?? jsonLog;
  const sink: AccountingSink = opts.accounting ?? ((r) => log("request", r));
  const metrics = new BridgeMetrics();
  const client = new UpstreamClient({ connectTimeoutMs: config.connectTimeoutMs });
  const slots = new Slots({
    capacity: config.slots,
    maxQueue: config.queue,
    timeoutMs: config.queueTimeoutMs,
  });
  const pool: UpstreamPool = new UpstreamPool(config.upstreams, {
    failThreshold: config.failThreshold,
    cooldownMs: config.cooldownMs,
    onFailure: (u, reason) => metrics.upstreamFailures.inc({ upstream: u.url, reason }),
    onChange: (u, change) => {
      // A server that stays down starts a new cooldown after every failed probe: log the edges only.
      if (change !== "cooldown") {
        const event = change === "in" ? "upstream_in_service" : "upstream_out";
        log(event, { upstream: u.url, role: u.role, error: u.lastError });
      }
      fitSlots();
      if (!u.inService) health.scheduleRecovery(u);
    },
  });
  // Per-upstream mode: N slots for each upstream taking traffic, so capacity follows failover.
  const fitSlots = () => {
    if (config.slotsPerUpstream) slots.setCapacity(config.slots * pool.serving().length);
  };
  fitSlots();
  const upstreamHeaders: Record<string, string> = config.upstreamApiKey
    ? { authorization: `Bearer ${config.upstreamApiKey}` }
    : {};
  const health = new HealthChecker(pool, client, {
    intervalMs: config.healthIntervalMs,
    path: config.healthPath,
    timeoutMs: config.healthTimeoutMs,
    headers: upstreamHeaders,
  });
  const authorized = createAuth(config.tokens);

  let draining = false;
  const inFlight = new Set<AbortController>();
  let onIdle: (() => void) | undefined;
  const ctx: ChatContext = {
    pool,
    client,
    slots,
    upstreamHeaders,
    timeoutMs: config.timeoutMs,
    maxBodyBytes: config.maxBodyBytes,
    retryAfterS: config.retryAfterS,
    isDraining: () => draining,
  };
  const modelsCtx = { pool, client, upstreamHeaders, timeoutMs: config.healthTimeoutMs };

  const snapshot = (): GaugeSnapshot => ({
    slotsBusy: slots.busy,
    slotsTotal: slots.capacity,
    queueDepth: slots.queued,
    upstreams: pool.all.map((u) => ({
      url: u.url,
      role: u.role,
      inService: u.inService,
      inFlight: u.inFlight,
    })),
  });
  metrics.observeLive(snapshot);

  function healthReport(res: ServerResponse): void {
    const now = Date.now();
    const serving = pool.serving();
    const ok = !draining && serving.length > 0;
    sendJson(res, ok ? 200 : 503, {
      status: draining ? "draining" : ok ? "ok" : "unavailable",
      upstreams: pool.all.map((u) => ({
        url: u.url,
        role: u.role,
        state: u.inService ? "up" : "out",
        serving: serving.includes(u),
        consecutiveFailures: u.failures,
        inFlight: u.inFlight,
        ...(u.inService ? {} : { retryInMs: Math.max(0, u.outUntil - now) }),
        ...(u.lastError ? { lastError: u.lastError } : {}),
      })),
      slots: { busy: slots.busy, total: slots.capacity },
      queue: { depth: slots.queued, max: config.queue },
    });
  }

  async function chat(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    account: RequestAccount,
  ): Promise<void> {
    const ac = new AbortController();
    inFlight.add(ac);
    res.on("close", () => {
      // Closed before the last byte went out: the client left, so free its slot and stop the upstream.
      if (!res.writableFinished) ac.abort();
      inFlight.delete(ac);
      if (inFlight.size === 0) onIdle?.();
    });
    await handleChat(ctx, req, res, ac.signal, requestId, account);
  }

  async function renderMetrics(res: ServerResponse): Promise<void> {
    const text = await metrics.render();
    if (res.destroyed) return;
    res.writeHead(200, { "content-type": metrics.contentType, "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  function route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    requestId: string,
    account: RequestAccount,
  ): Promise<void> | void {
    if (path === "/health" && req.method === "GET") return healthReport(res);
    const caller = authorized(req.headers.authorization);
    if (caller === undefined) {
      return sendError(res, {
        status: 401,
        type: "authentication_error",
        code: "invalid_api_key",
        message: "Missing or invalid bearer token.",
        headers: { "www-authenticate": 'Bearer realm="bridge"' },
      });
    }
    const allowed = path === CHAT ? "POST" : ROUTES.has(path) ? "GET" : undefined;
    if (allowed === undefined) {
      return sendError(res, {
        status: 404,
        type: "invalid_request_error",
        code: "not_found",
        message: `No route ${path}.`,
      });
    }
    if (req.method !== allowed) {
      return sendError(res, {
        status: 405,
        type: "invalid_request_error",
        code: "method_not_allowed",
        message: `${path} accepts ${allowed} only.`,
        headers: { allow: allowed },
      });
    }
    account.caller = caller;
    if (path === CHAT) return chat(req, res, requestId, account);
    if (path === "/v1/models") return handleModels(modelsCtx, res);
    return renderMetrics(res);
  }

  const server = http.createServer((req, res) => {
    const started = performance.now();
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    const label = ROUTES.has(path) ? path : "other";
    const given = req.headers["x-request-id"];
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    const account = newAccount();
    res.on("close", () => {
      // 499 (nginx's "client closed request"): the client left before the response was complete.
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.countRequest(label, String(status));
      if (UNACCOUNTED.has(label)) return;
      const record: AccountingRecord = {
        requestId,
        route: label,
        method: req.method ?? "",
        status,
        ...account,
        latencyMs: performance.now() - started,
      };
      metrics.account(record);
      try {
        sink(record);
      } catch (err) {
        log("accounting_sink_error", { error: err instanceof Error ? err.message : String(err) });
      }
    });
    if (draining) res.setHeader("connection", "close");
    // An unexpected error is logged with its cause and answered with a generic 500, never echoed.
    const fail = (err: unknown) => {
      log("error", { path, error: err instanceof Error ? err.stack : String(err) });
      sendError(res, {
        status: 500,
        type: "server_error",
        code: "internal_error",
        message: "Internal bridge error.",
      });
    };
    try {
      route(req, res, path, requestId, account)?.catch(fail);
    } catch (err) {
      fail(err);
    }
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          health.start();
          const addr = server.address() as AddressInfo;
          const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
          resolve(`http://${shown}:${addr.port}`);
        });
      });
    },
    close(drainMs = config.drainMs) {
      closing ??= (async () => {
        draining = true;
        health.stop();
        slots.close(); // queued requests get 503 shutting_down: not started, safe to retry elsewhere
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight.size > 0) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await new Promise<void>((resolve) => {
            onIdle = resolve;
            timer = setTimeout(resolve, drainMs);
          });
          clearTimeout(timer);
        }
        const cut = inFlight.size;
        for (const ac of inFlight) ac.abort(); // past the deadline: cut what is left
        server.closeAllConnections();
        await closed;
        client.close();
        log("stopped", { cut });
      })();
      return closing;
    },
    checkHealth: () => health.checkNow(),
  };
}
