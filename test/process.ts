// Child processes for tests that run an entry point the way a person does (`npm start`,
// `npm run bridge`): collected output, a promise for the line that says it is ready, its exit code.
// Every process started here is killed by killAll() if a test leaves it running.
import { type ChildProcess, spawn } from "node:child_process";

export interface NodeProcess {
  child: ChildProcess;
  /** Resolves with the first match of `ready` in the output; rejects if the process exits first. */
  ready: Promise<RegExpExecArray>;
  exited: Promise<number | null>;
  output(): string;
}

const started: ChildProcess[] = [];

export function startNode(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; ready: RegExp; cwd?: string },
): NodeProcess {
  const child = spawn(process.execPath, args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const ready = new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = opts.ready.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m);
      }
    }, 25);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`${args.join(" ")} exited with ${code}:\n${out}`));
    });
  });
  return { child, ready, exited, output: () => out };
}

export function killAll(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
