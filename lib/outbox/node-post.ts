// The event API transport on the Node server: node:http(s) over one keep-alive agent per protocol.
// fetch (undici) costs about 180 µs more CPU per call here, on a path every submit takes. The Worker
// keeps fetch; this file is imported only by the Node entry points.
import http from "node:http";
import https from "node:https";
import type { EventPost } from "./event-api.ts";

const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 16 }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 16 }),
};

/** A send that hears nothing back within this long has failed; the drain re-sends it. */
const TIMEOUT_MS = 10_000;

/** Errors of a keep-alive socket the server closed while it sat idle in the pool. */
const STALE = new Set(["ECONNRESET", "EPIPE"]);

function post(url: URL, headers: Record<string, string>, body: string, retried: boolean) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const lib = url.protocol === "https:" ? https : http;
    const agent = agents[url.protocol as keyof typeof agents];
    if (!agent) {
      reject(new Error(`event API: unsupported protocol ${url.protocol}`));
      return;
    }
    const req = lib.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`event API: no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A pooled socket the server had already closed: nothing was received, so send once more on a
      // fresh one rather than leave the events to the drain's backoff.
      if (!retried && req.reusedSocket && STALE.has(err.code ?? "")) {
        post(url, headers, body, true).then(resolve, reject);
        return;
      }
      reject(err);
    });
    req.end(body);
  });
}

export const nodePost: EventPost = (url, headers, body) => post(new URL(url), headers, body, false);
