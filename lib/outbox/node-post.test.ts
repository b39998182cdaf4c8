// The Node transport over a keep-alive pool: a pooled socket the server drops as the next request
// goes out (its idle timeout) is retried once on a fresh socket instead of failing the send; a
// fresh socket's failure is not retried.
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { nodePost } from "./node-post.ts";

const OK =
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: keep-alive\r\ncontent-length: 27\r\n\r\n{"ids":["e1"],"status":200}';

let server: net.Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A server that answers each connection's first request and resets it on the second, if `drop`. */
async function listen(
  behaviour: (requestOnSocket: number) => "answer" | "reset",
): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = net.createServer((socket) => {
    connections++;
    let seen = 0;
    socket.on("data", (chunk) => {
      if (!chunk.toString().startsWith("POST")) return;
      seen++;
      if (behaviour(seen) === "reset") socket.resetAndDestroy();
      else socket.write(OK);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/e/key`, connections: () => connections };
}

describe("nodePost", () => {
  it("sends again on a fresh socket when the pooled one was dropped", async () => {
    const s = await listen((n) => (n === 1 ? "answer" : "reset"));
    expect((await nodePost(s.url, {}, "[]")).status).toBe(200);
    const again = await nodePost(s.url, {}, "[]");
    expect(again).toEqual({ status: 200, body: '{"ids":["e1"],"status":200}' });
    expect(s.connections()).toBe(2);
  });

  it("does not retry a fresh socket's failure", async () => {
    const s = await listen(() => "reset");
    await expect(nodePost(s.url, {}, "[]")).rejects.toMatchObject({ code: "ECONNRESET" });
    expect(s.connections()).toBe(1);
  });
});
