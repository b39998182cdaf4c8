#!/usr/bin/env node
// `npx foreman …`: the operator's command line over foreman's HTTP API (bin/cli/). Node ≥ 22.18 runs
// this TypeScript file as is (type stripping), so there is no build step.
import { main } from "./cli/main.ts";

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  width: process.stdout.isTTY ? process.stdout.columns : undefined,
});
