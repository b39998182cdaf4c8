// /health reports the package version: api/version.ts must follow package.json.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { VERSION } from "../../api/version.ts";

it("reports the version in package.json", () => {
  expect(VERSION).toBe(JSON.parse(readFileSync("package.json", "utf8")).version);
});
