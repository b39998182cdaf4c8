// The side-effect ledger: a live write retried under the same key (Inngest re-running a tool step whose
// result it never received) answers the first result and writes nothing; another key writes; dry-run
// and refused writes leave no row, so their retries run again.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { toolCalls } from "../../db/schema/index.ts";
import { type FakeHubSpot, startFakeHubSpot } from "../../test/fakes/hubspot.ts";
import { parsed, TOOL_TASK_ID, toolContext, useToolDb } from "../../test/tools.ts";
import { data, defineTool } from "./contract.ts";
import { crmSetupTools } from "./crm-setup.ts";
import { executeToolCall } from "./execute.ts";
import { defineRegistry } from "./registry.ts";

const db = useToolDb();
let fake: FakeHubSpot;
beforeAll(async () => {
  fake = await startFakeHubSpot();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  fake.addTicket({ id: "801", properties: { subject: "Renewal" } });
});

const note = (id: string, body = "Checked the pipeline.") => ({
  id,
  name: "hubspot_add_note",
  input: { body, objectType: "tickets", objectId: "801" },
});
const rowsFor = (key: string) => db().select().from(toolCalls).where(eq(toolCalls.key, key));

describe("live write tools under step retries", () => {
  it("a retried call answers the first result and posts no second note", async () => {
    const ctx = toolContext(fake, { db: db() });
    const first = await executeToolCall(ctx, crmSetupTools, note("toolu_retry1"));
    const again = await executeToolCall(ctx, crmSetupTools, note("toolu_retry1"));
    expect(fake.callsTo("POST", "/crm/v3/objects/notes")).toHaveLength(1);
    // The same answer (jsonb keeps the keys in its own order, so compared as data).
    expect(parsed(again)).toEqual(parsed(first));
    expect(again.isError).toBe(false);
    expect(again.events.at(-1)).toMatchObject({ kind: "tool_result", payload: { replayed: true } });
    const [row] = await rowsFor("run_test:toolu_retry1");
    expect(row).toMatchObject({ taskId: TOOL_TASK_ID, runId: "run_test", tool: "hubspot_add_note" });
    expect(row?.result).toEqual({ data: parsed(first).data });
  });

  it("another call (another key) writes again", async () => {
    const ctx = toolContext(fake, { db: db() });
    await executeToolCall(ctx, crmSetupTools, note("toolu_a"));
    await executeToolCall(ctx, crmSetupTools, note("toolu_b"));
    expect(fake.callsTo("POST", "/crm/v3/objects/notes")).toHaveLength(2);
  });

  it("a refused write keeps no row, so its retry asks HubSpot again", async () => {
    const ctx = toolContext(fake, { db: db() });
    const orphan = { ...note("toolu_orphan"), input: { body: "x", objectType: "deals", objectId: "404404" } };
    expect((await executeToolCall(ctx, crmSetupTools, orphan)).isError).toBe(true);
    expect(await rowsFor("run_test:toolu_orphan")).toEqual([]);
    await executeToolCall(ctx, crmSetupTools, orphan);
    expect(fake.callsTo("POST", "/crm/v3/objects/notes")).toHaveLength(2);
  });

  it("dry-run records a WOULD_DO every time and keeps no row", async () => {
    const ctx = toolContext(fake, { db: db(), dryRun: true });
    for (let i = 0; i < 2; i++) {
      const r = await executeToolCall(ctx, crmSetupTools, note("toolu_dry"));
      expect(r.events.map((e) => e.kind)).toEqual(["tool_call", "would_do", "tool_result"]);
    }
    expect(await rowsFor("run_test:toolu_dry")).toEqual([]);
    expect(fake.writeCalls()).toEqual([]);
  });

  it("a write that answers nothing is still a ledger row; a retry runs it no second time", async () => {
    let runs = 0;
    const registry = defineRegistry("t", [
      defineTool({
        name: "silent_write",
        description: "A write that answers nothing.",
        sideEffect: true,
        input: z.strictObject({}),
        run: async () => {
          runs++;
          return data(null);
        },
      }),
    ]);
    const ctx = toolContext(fake, { db: db() });
    const first = await executeToolCall(ctx, registry, {
      id: "toolu_silent",
      name: "silent_write",
      input: {},
    });
    const again = await executeToolCall(ctx, registry, {
      id: "toolu_silent",
      name: "silent_write",
      input: {},
    });
    expect(runs).toBe(1);
    expect(parsed(again)).toEqual(parsed(first));
  });

  it("a ledger that cannot record does not fail the written call; the log says so", async () => {
    const broken = new Proxy(db(), {
      get(target, prop, receiver) {
        if (prop === "insert")
          return () => ({
            values: () => ({ onConflictDoNothing: () => Promise.reject(new Error("connection lost")) }),
          });
        return Reflect.get(target, prop, receiver);
      },
    });
    const r = await executeToolCall(toolContext(fake, { db: broken }), crmSetupTools, note("toolu_broken"));
    expect(r.isError).toBe(false);
    expect(fake.callsTo("POST", "/crm/v3/objects/notes")).toHaveLength(1);
    expect(r.events.at(-1)).toMatchObject({
      kind: "tool_result",
      payload: { ledgerError: expect.stringContaining("connection lost") },
    });
  });
});
