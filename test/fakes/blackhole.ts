// A host that never answers a connection: the kernel drops its SYNs, as a firewall or a dead route
// does, so a connect neither succeeds nor is refused. A child process listens with a tiny backlog
// and then blocks its event loop, never accepting; once the accept queue is full, new SYNs go
// unanswered.
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";

export interface Blackhole {
  readonly url: string;
  close(): Promise<void>;
}

const LISTENER = `
const s = require("node:net").createServer().listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
  process.stdout.write(s.address().port + "\\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;

/** Resolves once connections to the port hang; the connections that filled the queue are held. */
export async function startBlackhole(): Promise<Blackhole> {
  const child: ChildProcess = spawn(process.execPath, ["-e", LISTENER], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout?.once("data", (d) => resolve(Number(String(d).trim())));
  });
  const held: net.Socket[] = [];
  const close = async () => {
    for (const s of held) s.destroy();
    child.kill("SIGKILL");
  };
  for (let i = 0; i < 16; i++) {
    const socket = net.connect(port, "127.0.0.1");
    held.push(socket);
    socket.on("error", () => {});
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 300);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) return { url: `http://127.0.0.1:${port}`, close };
  }
  await close();
  throw new Error("blackhole: the listener kept accepting connections");
}
