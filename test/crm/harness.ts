// The CRM sync's test bed: the HubSpot fake set up by the real `setup:hubspot` code (pipeline, stages,
// properties; the mapping stored in settings), Deps pointed at it, and the engine simulation
// (sim.ts) running crm-sync (debounced per task), crm-push (batched, throttled) and crm-inbound with
// the flow control the configuration gives — all on one virtual clock that the fake's rate-limit
// window also reads. Tasks are submitted and moved through the real verbs, their outbox rows
// published to the recording sender the simulation delivers from.

import type { AppDb } from "../../db/types.ts";
import { crmInbound } from "../../functions/crm-inbound.ts";
import { crmPush } from "../../functions/crm-push.ts";
import { crmSync } from "../../functions/crm-sync.ts";
import { crmFlowControl, periodMs } from "../../lib/crm/flow.ts";
import type { Deps } from "../../lib/deps.ts";
import { hubspotTicketStageChanged } from "../../lib/events.ts";
import { createHubSpotClient } from "../../lib/hubspot/client.ts";
import { setupHubSpot } from "../../lib/hubspot/setup.ts";
import { loadSetupMapping, type SetupMapping, storeSetupMapping } from "../../lib/hubspot/setup-mapping.ts";
import { publish } from "../../lib/outbox/publish.ts";
import type { TaskState } from "../../lib/states.ts";
import { submitTask } from "../../lib/tasks/submit.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { type RecordingSender, testDeps } from "../deps.ts";
import {
  FAKE_HUBSPOT_TOKEN,
  type FakeHubSpot,
  type RateLimitOptions,
  startFakeHubSpot,
} from "../fakes/hubspot.ts";
import { EngineSim, functionConsumer } from "./sim.ts";

export const PUBLIC_URL = "https://foreman.example.com";
export const T0 = Date.UTC(2026, 11, 1, 9);

/** One fake per test file; its rate-limit window runs on whichever simulation is current. */
export async function startCrmFake(): Promise<{ fake: FakeHubSpot; use(sim: EngineSim): void }> {
  let clock = () => T0;
  const fake = await startFakeHubSpot({ clock: () => clock() });
  return { fake, use: (sim) => (clock = () => sim.now) };
}

/** Runs setup:hubspot against the fake (once per database) and returns the stored mapping. */
export async function ensureSetup(db: AppDb, fake: FakeHubSpot): Promise<SetupMapping> {
  const stored = await loadSetupMapping(db);
  if (stored) return stored;
  const client = createHubSpotClient({ accessToken: FAKE_HUBSPOT_TOKEN, baseUrl: fake.url });
  const { mapping } = await setupHubSpot(client, { dryRun: false });
  if (!mapping) throw new Error("setup:hubspot stored no mapping");
  await storeSetupMapping(db, mapping);
  return mapping;
}

export interface CrmBed {
  deps: Deps;
  events: RecordingSender;
  sim: EngineSim;
  mapping: SetupMapping;
  fake: FakeHubSpot;
  /** Submits a task (API, or from a HubSpot ticket) and publishes what it owes; returns its id. */
  submit(opts?: { title?: string; ticketId?: string; dryRun?: boolean; project?: string }): Promise<string>;
  /** Moves a task (one transition, published), now or at a virtual time. */
  move(taskId: string, to: TaskState, at?: number): Promise<void>;
  /** A ticket stage change as the webhook route emits it, delivered at a virtual time; `mover` is
   *  who HubSpot says moved it (a person in the CRM: sourceId `userId:<id>`, changeSource CRM_UI). */
  inbound(
    ticketId: string,
    stageId: string,
    occurredAt: number,
    at?: number,
    mover?: { sourceId?: string; changeSource?: string },
  ): void;
}

export interface BedOptions {
  env?: Record<string, string>;
  rateLimit?: RateLimitOptions | false;
}

export async function crmBed(
  db: AppDb,
  crm: { fake: FakeHubSpot; use(sim: EngineSim): void },
  opts: BedOptions = {},
) {
  const { fake } = crm;
  const mapping = await ensureSetup(db, fake);
  fake.reset(); // a fresh call log, no faults, an empty rate-limit window
  fake.setRateLimit(opts.rateLimit ?? { max: 100, intervalMs: 10_000, dailyMax: 250_000 });
  const { deps, events } = testDeps(db, {
    HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
    HUBSPOT_BASE_URL: fake.url,
    FOREMAN_DRY_RUN: "false",
    FOREMAN_PUBLIC_URL: PUBLIC_URL,
    ...opts.env,
  });
  const flow = crmFlowControl(deps.config);
  const sim: EngineSim = new EngineSim({
    start: T0,
    sender: events,
    consumers: [
      functionConsumer(crmSync, deps, {
        events: ["task/state.changed", "task/submitted"],
        intake: {
          kind: "debounce",
          key: (e) => String(e.data.taskId),
          periodMs: periodMs(flow.debounce.period),
          timeoutMs: periodMs(flow.debounce.timeout),
        },
        retries: 5,
      }),
      functionConsumer(crmPush, deps, {
        events: ["crm/push.requested"],
        intake: { kind: "batch", maxSize: flow.batch.maxSize, timeoutMs: periodMs(flow.batch.timeout) },
        throttle: { limit: flow.throttle.limit, periodMs: periodMs(flow.throttle.period) },
        retries: 10,
      }),
      functionConsumer(crmInbound, deps, {
        events: [hubspotTicketStageChanged.name],
        intake: { kind: "immediate" },
        retries: 5,
      }),
    ],
  });
  crm.use(sim);
  deps.now = () => new Date(sim.now);

  let n = 0;
  const bed: CrmBed = {
    deps,
    events,
    sim,
    mapping,
    fake,
    submit: async (o = {}) => {
      const input = {
        title: o.title ?? `CRM sync task ${++n}`,
        ...(o.dryRun ? { dry_run: true } : {}),
        ...(o.project ? { project: o.project } : {}),
      };
      const r = await submitTask(db, input, {
        source: o.ticketId ? "hubspot" : "api",
        ...(o.ticketId ? { sourceRef: o.ticketId } : {}),
        actor: "test",
      });
      await publish(deps, r.outbox);
      return r.task.id;
    },
    move: async (taskId, to, at) => {
      const apply = async () => {
        const r = await transition(db, {
          taskId,
          to,
          key: `test:${crypto.randomUUID()}`,
          actor: "test",
          // A task reaches ready triaged, as intake leaves it (a retry of an untriaged one is a retriage).
          ...(to === "ready" ? { set: { triagedAt: new Date() } } : {}),
        });
        await publish(deps, r.outbox);
      };
      if (at === undefined) await apply();
      else sim.at(at, apply);
    },
    inbound: (ticketId, stageId, occurredAt, at, mover) => {
      sim.at(at ?? sim.now, async () => {
        const e = hubspotTicketStageChanged.create(
          { ticketId, portalId: 62515, stageId, occurredAt, ...mover },
          { id: `hubspot:62515:1:${ticketId}:${occurredAt}:${occurredAt}:hs_pipeline_stage` },
        );
        await deps.events.send(e);
      });
    },
  };
  return bed;
}
