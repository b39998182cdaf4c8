// `npm run dev`: `npm start`, plus the Inngest dev server attached to it when the optional
// inngest-cli package is installed (its install downloads a binary, which fails offline).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { main } from "./server.ts";

const cli = "node_modules/.bin/inngest-cli";
await main();
const host = process.env.HOST ?? "127.0.0.1";
const url = `http://${host}:${process.env.PORT ?? "8787"}/api/inngest`;
if (existsSync(cli)) {
  console.log(`starting the Inngest dev server: ${cli} dev -u ${url}`);
  const child = spawn(cli, ["dev", "-u", url], { stdio: "inherit" });
  child.on("exit", (code) => console.log(`the Inngest dev server exited (${code ?? "signal"})`));
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill(sig));
} else {
  console.log(
    "inngest-cli is not installed (it is optional: its install downloads a binary, which needs network).\n" +
      `Install it with \`npm install inngest-cli\` where the network allows, or run \`npx inngest-cli dev -u ${url}\` elsewhere.`,
  );
}
