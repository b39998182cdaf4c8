// Configuration: defaults, one message listing every bad variable, Worker requirements, and the
// README table / .env.example agreeing with the schema.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_DOCS, configSchema, loadConfig, SECRET_VARIABLES } from "./config.ts";

describe("loadConfig", () => {
  it("fills defaults for an empty environment on Node (embedded, dry-run on)", () => {
    const config = loadConfig({}, "node");
    expect(config).toMatchObject({
      PORT: 8787,
      FOREMAN_DATA_DIR: ".foreman",
      FOREMAN_DRY_RUN: true,
      FOREMAN_MAX_BODY_BYTES: 65536,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("treats empty strings as unset and parses booleans and numbers", () => {
    const config = loadConfig({ DATABASE_URL: "", FOREMAN_DRY_RUN: "false", PORT: "9000" }, "node");
    expect(config).toMatchObject({ FOREMAN_DRY_RUN: false, PORT: 9000 });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("lists every invalid variable in one message", () => {
    let message = "";
    try {
      loadConfig(
        { PORT: "http", DATABASE_URL: "mysql://x", FOREMAN_DRY_RUN: "maybe", FOREMAN_API_TOKEN: "short" },
        "node",
      );
    } catch (err) {
      message = (err as Error).message;
      expect(err).toMatchObject({ code: "CONFIG" });
    }
    for (const name of ["PORT", "DATABASE_URL", "FOREMAN_DRY_RUN", "FOREMAN_API_TOKEN"])
      expect(message).toContain(`${name}:`);
  });

  it("refuses a client link that would expire before the client stage stops waiting", () => {
    expect(() => loadConfig({ FOREMAN_STAMP_TIMEOUT_DAYS: "30" }, "node")).toThrow(
      /STAMP_LINK_TTL_DAYS: 14 is shorter than FOREMAN_STAMP_TIMEOUT_DAYS \(30\)/,
    );
    expect(loadConfig({ FOREMAN_STAMP_TIMEOUT_DAYS: "30", STAMP_LINK_TTL_DAYS: "30" }, "node")).toMatchObject(
      {
        STAMP_LINK_TTL_DAYS: 30,
      },
    );
  });

  it("requires the database, the API token and an Inngest signing key on Workers, all reported at once", () => {
    expect(() => loadConfig({}, "worker")).toThrow(
      /DATABASE_URL[\s\S]*FOREMAN_API_TOKEN[\s\S]*INNGEST_SIGNING_KEY/,
    );
    expect(
      loadConfig(
        { DATABASE_URL: "postgres://u@h/db", FOREMAN_API_TOKEN: "x".repeat(20), INNGEST_DEV: "1" },
        "worker",
      ),
    ).toMatchObject({ INNGEST_DEV: "1" });
  });
});

describe("configuration docs", () => {
  const names = Object.keys(configSchema.shape);
  it("document every variable in CONFIG_DOCS, README.md's table and .env.example", () => {
    expect(Object.keys(CONFIG_DOCS).sort()).toEqual([...names].sort());
    const readme = readFileSync("README.md", "utf8");
    const example = readFileSync(".env.example", "utf8");
    for (const name of names) {
      expect(readme, `README.md is missing ${name}`).toMatch(new RegExp(`\\|\\s*\`${name}\`\\s*\\|`));
      expect(example, `.env.example is missing ${name}`).toMatch(new RegExp(`^#?\\s*${name}=`, "m"));
    }
  });

  it("keep secrets out of wrangler.toml [vars]", () => {
    const vars = readFileSync("wrangler.toml", "utf8").split("[vars]")[1]?.split(/^\[/m)[0] ?? "";
    for (const secret of SECRET_VARIABLES) expect(vars).not.toMatch(new RegExp(`^${secret}\\s*=`, "m"));
  });
});
