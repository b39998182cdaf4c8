// `npm run bench`: runs every test/bench/*.bench.ts one after another, each in its own Node process so
// one benchmark's servers, JIT state and garbage never colour the next one's numbers. Exits non-zero if
// any benchmark failed. Benchmarks print their own numbers and ratios; the test suite never runs them.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((name) => f.includes(name)))
  .sort();

if (benches.length === 0) {
  console.error(`no *.bench.ts in ${dir}${only.length ? ` matching ${only.join(", ")}` : ""}`);
  process.exit(1);
}

const failed: string[] = [];
for (const file of benches) {
  console.log(`\n=== ${file}`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [`${dir}${file}`], { stdio: "inherit" });
    child.on("exit", resolve);
    child.on("error", () => resolve(1));
  });
  if (code !== 0) failed.push(`${file} (exit ${code})`);
}

console.log(`\n${benches.length - failed.length}/${benches.length} benchmarks completed`);
if (failed.length > 0) {
  console.error(`failed: ${failed.join(", ")}`);
  process.exit(1);
}
