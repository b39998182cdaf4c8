// Runs once per `npm test`: migrates one template database — a PGlite dump on disk, or a Postgres
// template database when TEST_DATABASE_URL is set — that every test file clones in well under a second.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { fromPglite, openPostgres } from "../db/client.ts";
import { migrateDb } from "../db/migrate.ts";
import { withDatabase } from "./db-url.ts";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteDump: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.TEST_DATABASE_URL;
  if (url) {
    const template = `foreman_tpl_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`drop database if exists ${template}`);
    await admin.query(`create database ${template}`);
    const handle = openPostgres(withDatabase(url, template), 2);
    await migrateDb(handle);
    await handle.close();
    project.provide("pgTemplate", template);
    project.provide("pgliteDump", "");
    return async () => {
      await admin.query(`drop database if exists ${template} with (force)`);
      await admin.end();
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "foreman-test-"));
  const handle = fromPglite(await PGlite.create());
  await migrateDb(handle);
  const dump = await handle.client.dumpDataDir("none");
  const path = join(dir, "migrated.tar");
  writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
  await handle.close();
  project.provide("pgliteDump", path);
  project.provide("pgTemplate", "");
  return () => rmSync(dir, { recursive: true, force: true });
}
