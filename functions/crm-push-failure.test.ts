// crm-push out of retries, as the engine reports it (POST /api/inngest?fnId=foreman-crm-push-failure):
// HubSpot refusing foreman's token must not leave tickets behind in silence. The first failure of an
// outage is announced once in the review channel (crm/push.failed through the outbox, posted by
// notify), later failures in it are only counted; a ticket whose first write never went out (the 401
// came on an earlier call) keeps a link row the watchdog finds; during the outage the watchdog probes
// it with one ticket an hour, and once a push gets through every ticket left behind catches up.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crmLinks, outbox, settings } from "../db/schema/index.ts";
import { PUSH_FAILURES_KEY, PUSH_OUTAGE_KEY, PUSH_RECOVERIES_KEY } from "../lib/crm/outage.ts";
import type { Deps } from "../lib/deps.ts";
import { ensureSetup } from "../test/crm/harness.ts";
import { useTestDb } from "../test/db.ts";
import { testApp, testDeps } from "../test/deps.ts";
import { failureRequest } from "../test/executor.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../test/fakes/hubspot.ts";
import { hubspotError } from "../test/fakes/hubspot-errors.ts";
import { useFakeInngestEngine } from "../test/fakes/inngest.ts";
import { FAKE_REVIEW_CHANNEL, FAKE_SLACK_TOKEN, useSlackFake } from "../test/fakes/slack.ts";
import { insertTask } from "../test/fixtures.ts";
import { runFunction } from "../test/inngest.ts";
import { routeEvents } from "../test/lifecycle.ts";
import { addWorker, clockAt, drained, pass } from "../test/watchdog.ts";
import { crmPush } from "./crm-push.ts";
import { notify } from "./notify.ts";

const t = useTestDb();
const slack = useSlackFake();
useFakeInngestEngine();
let hubspot: FakeHubSpot;
beforeAll(async () => {
  hubspot = await startFakeHubSpot();
});
afterAll(async () => {
  await hubspot?.close();
});

const REFUSED = "HubSpot refused the credentials (401): Authentication credentials not found.";

describe("crm-push out of retries", () => {
  it("announces an outage once, keeps every ticket findable, and the watchdog catches them all up once HubSpot takes writes", async () => {
    const db = t.current.db;
    const mapping = await ensureSetup(db, hubspot);
    hubspot.reset();
    const env = {
      FOREMAN_DRY_RUN: "false",
      HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
      HUBSPOT_BASE_URL: hubspot.url,
      SLACK_BOT_TOKEN: FAKE_SLACK_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_REVIEW_CHANNEL: FAKE_REVIEW_CHANNEL,
    };
    const { deps, events } = testDeps(db, env);
    const worker = await addWorker(db, 5);
    // A done task whose ticket still shows `ready` (its last push), one whose ticket is yet to be created.
    const linked = await insertTask(db, { status: "done", workerId: worker, version: 5 });
    hubspot.addTicket({
      id: "8101",
      properties: {
        hs_pipeline: mapping.pipelineId,
        hs_pipeline_stage: mapping.stageIds.ready,
        task_id: linked.id,
      },
    });
    await db.insert(crmLinks).values({
      taskId: linked.id,
      ticketId: "8101",
      pipelineId: mapping.pipelineId,
      pushedState: "ready",
      pushedStageId: mapping.stageIds.ready,
    });
    const unborn = await insertTask(db, { status: "ready", workerId: worker, version: 2 });
    // A task from a HubSpot ticket, never synced yet: its first write takes the ticket by its id.
    hubspot.addTicket({
      id: "8102",
      properties: { hs_pipeline: "0", hs_pipeline_stage: "1", subject: "From the CRM" },
    });
    const fromCrm = await insertTask(db, {
      status: "ready",
      workerId: worker,
      version: 2,
      source: "hubspot",
      sourceRef: "8102",
    });

    // The token is revoked: every call is a 401, so the batch fails on its update, before any create.
    hubspot.fail({
      status: 401,
      body: hubspotError("INVALID_AUTHENTICATION", "Authentication credentials not found."),
    });
    const push = async (d: Deps, ids: string[]) =>
      runFunction(crmPush, {
        deps: d,
        event: { name: "crm/push.requested", data: { taskId: ids[0] as string } },
        events: ids.map((taskId) => ({ name: "crm/push.requested", data: { taskId } })),
      });
    const first = await push(deps, [linked.id, fromCrm.id, unborn.id]);
    expect(String((first.error as Error | undefined)?.message)).toContain("refused the credentials (401)");
    expect(hubspot.callsTo("POST", "/crm/v3/objects/tickets/batch/create")).toEqual([]);
    const [owed] = await db.select().from(crmLinks).where(eq(crmLinks.taskId, unborn.id));
    expect(owed, "the ticket still to be created keeps a link row").toBeDefined();
    const [taken] = await db.select().from(crmLinks).where(eq(crmLinks.taskId, fromCrm.id));
    expect(taken, "the HubSpot ticket still to be taken in keeps a link row").toBeDefined();

    // The engine reports the run failed; a second run fails too; the first report is delivered twice.
    const { app, events: failureEvents } = testApp(db, env);
    const fail = async (runId: string, ts?: number, message = REFUSED) => {
      const req = failureRequest("crm-push", {
        runId,
        error: { name: "NonRetriableError", message },
        event: { name: "crm/push.requested", data: { taskId: linked.id } },
        ...(ts === undefined ? {} : { ts }),
      });
      const res = await app.request(req.path, req.init);
      expect(res.status, await res.clone().text()).toBe(206);
    };
    await fail("01PUSHFAIL1");
    await fail("01PUSHFAIL2");
    await fail("01PUSHFAIL1");
    const setting = async (key: string) =>
      (await db.select().from(settings).where(eq(settings.key, key)))[0]?.value as unknown;
    expect(await setting(PUSH_FAILURES_KEY)).toBe(3);
    expect(await setting(PUSH_OUTAGE_KEY)).toMatchObject({
      runId: "01PUSHFAIL1",
      failures: 1,
      error: REFUSED,
    });
    const notices = await db.select().from(outbox).where(eq(outbox.name, "crm/push.failed"));
    expect(notices.map((n) => [n.eventId, n.data])).toEqual([
      ["crm-push-outage:1", { error: REFUSED, class: "auth", failures: 1, since: expect.any(String) }],
    ]);
    // The redelivered report re-published its own notice under the same id; notify posts it once.
    expect(failureEvents.sent.map((e) => e.id)).toEqual(["crm-push-outage:1", "crm-push-outage:1"]);
    const posted = await routeEvents([notify], deps, failureEvents);
    expect(posted.map((r) => r.event)).toEqual(["crm/push.failed"]);
    const messages = slack.messages.get(FAKE_REVIEW_CHANNEL) ?? [];
    expect(messages.map((m) => m.text)).toEqual([`HubSpot ticket writes are failing: ${REFUSED}`]);
    expect(JSON.stringify(messages[0])).toContain("HUBSPOT_ACCESS_TOKEN");

    // While the outage lasts the watchdog probes it with one ticket an hour — not every drifted
    // ticket every pass; a probe that fails changes nothing until the next hour.
    await drained(db);
    const resyncs = async (minutes: number) => {
      const before = events.sent.length;
      clockAt(deps, minutes);
      await pass(deps);
      await drained(db);
      return events.sent
        .slice(before)
        .filter((e) => e.name === "crm/push.requested")
        .map((e) => (e.data as { taskId: string }).taskId)
        .sort();
    };
    const all = [linked.id, fromCrm.id, unborn.id];
    expect(await resyncs(10), "nothing quiet yet: the hour's probe is not spent").toEqual([]);
    const probe = await resyncs(31);
    expect(probe).toHaveLength(1);
    expect(all).toContain(probe[0]);
    expect((await push(deps, probe)).error).toBeDefined();
    await fail("01PUSHFAIL3");
    expect(await setting(PUSH_FAILURES_KEY)).toBe(4);
    expect(await resyncs(45), "the same hour: no second probe").toEqual([]);
    expect(await resyncs(95)).toHaveLength(1);

    // The token works again: the probe gets through and ends the outage; the next pass owes every
    // ticket left behind one push, and they all follow.
    hubspot.clearFaults();
    expect((await push(deps, probe)).error).toBeUndefined();
    expect(await setting(PUSH_OUTAGE_KEY)).toBeUndefined();
    expect(await setting(PUSH_RECOVERIES_KEY)).toBe(1);
    const rest = await resyncs(100);
    expect(rest).toEqual(all.filter((id) => id !== probe[0]).sort());
    expect((await push(deps, rest)).error).toBeUndefined();
    expect(hubspot.tickets.get("8101")?.properties.hs_pipeline_stage).toBe(mapping.stageIds.done);
    expect(hubspot.tickets.get("8102")?.properties.hs_pipeline_stage).toBe(mapping.stageIds.ready);
    const [born] = await db.select().from(crmLinks).where(eq(crmLinks.taskId, unborn.id));
    expect(hubspot.tickets.get(born?.ticketId as string)?.properties.hs_pipeline_stage).toBe(
      mapping.stageIds.ready,
    );
    expect(await resyncs(130), "caught up: nothing more is owed").toEqual([]);

    // A failure that is not HubSpot's (the database, a bug): no outage, not counted as one.
    // (drizzle's own wording, whose SQL and parameters can name HubSpot.)
    await fail(
      "01PUSHDB",
      deps.now().getTime(),
      "Failed query: update crm_links l set refused_reason = $1 from tasks t where t.source = 'hubspot'\nparams: HubSpot refused the request (400)",
    );
    expect(await setting(PUSH_FAILURES_KEY)).toBe(4);
    expect(await setting(PUSH_OUTAGE_KEY)).toBeUndefined();

    // A report of a run that failed before the push that got through, delivered late: counted, and
    // no outage opened — HubSpot has taken writes since.
    const thirtyMinutesAgo = deps.now().getTime() - 30 * 60_000;
    await fail("01PUSHLATE", thirtyMinutesAgo - 60 * 60_000);
    expect(await setting(PUSH_FAILURES_KEY)).toBe(5);
    expect(await setting(PUSH_OUTAGE_KEY)).toBeUndefined();

    // The next outage is announced again.
    await fail("01PUSHFAIL4", deps.now().getTime());
    expect(
      (await db.select().from(outbox).where(eq(outbox.name, "crm/push.failed"))).map((n) => n.eventId),
    ).toEqual(["crm-push-outage:1", "crm-push-outage:6"]);
  });
});
