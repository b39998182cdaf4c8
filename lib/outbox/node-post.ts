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

export const nodePost: EventPost = (url, headers, body) =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const agent = agents[u.protocol as keyof typeof agents];
    if (!agent) {
      reject(new Error(`event API: unsupported protocol ${u.protocol}`));
      return;
    }
    const req = lib.request(
      u,
      { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`event API: no answer within ${TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end(body);
  });
