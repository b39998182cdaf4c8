// vitest: one suite for PGlite (default) and real Postgres (TEST_DATABASE_URL). Workers are capped
// because every PGlite instance costs up to ~0.9 GB and the machines have 2 cores.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", ".wrangler/**", ".foreman/**"],
    globalSetup: ["./test/global-setup.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
