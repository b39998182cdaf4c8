// Test-only: the WebSocket→TCP proxy that lets the real Neon serverless driver talk to a local
// Postgres (or PGlite behind pglite-socket). It copies bytes both ways and only dials loopback.

import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { WebSocketServer } from "ws";

export interface WsProxy {
  /** host:port, the value for NEON_WS_PROXY. */
  address: string;
  close(): Promise<void>;
}

export async function startWsProxy(): Promise<WsProxy> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (ws, req) => {
    const target = new URL(req.url ?? "/", "http://x").searchParams.get("address") ?? "";
    const m = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(target);
    if (!m) {
      ws.close(1008, "only loopback targets are allowed");
      return;
    }
    const tcp = connect(Number(m[2]), m[1] as string);
    const pending: Buffer[] = [];
    tcp.on("connect", () => {
      for (const b of pending.splice(0)) tcp.write(b);
    });
    ws.on("message", (data: Buffer) => {
      if (tcp.readyState === "open") tcp.write(data);
      else pending.push(data);
    });
    tcp.on("data", (d) => ws.send(d));
    tcp.on("close", () => ws.close());
    tcp.on("error", () => ws.terminate());
    ws.on("close", () => tcp.destroy());
    ws.on("error", () => tcp.destroy());
  });
  const { port } = wss.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
