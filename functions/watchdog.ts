// watchdog: every five minutes, one pass at a time, finds what got stuck and repairs it — each check
// one query for its cases (lib/watchdog/*.ts), each case its own step through the one-statement
// write paths, every action a task event (kind `watchdog`, or a transition with actor `watchdog`):
//   1. stuck runs: working, no task event for FOREMAN_WATCHDOG_STUCK_MINUTES → run cancelled, task
//      retried once via `ready`, the next time to triage (class `timeout`);
//   2. leaked leases: a slot held by a run that ended or whose task moved on → released;
//   3. lost events: intake/ready with no progress for FOREMAN_WATCHDOG_LOST_MINUTES → task/submitted
//      or task/ready re-sent (unless still pending in the outbox: the drain's job);
//   4. CRM drift: a ticket whose pushed state is not the task's → crm/push.requested;
//   5. lost waits: a human stage no run waits for any more → task/stamp.resume;
//   6. outbox stopped draining → one alert until it drains again (then a notice of any events it cost);
//   7. stranded dependents: waiting only for dependencies that have all ended, nothing moved them on
//      for FOREMAN_WATCHDOG_LOST_MINUTES → the move promote would have made, to `ready` (with a
//      cancelled dependency, to triage with class `dependency`);
//   8. unreviewed work: a handed-in version no review ever started on (its task/work.submitted lost),
//      idle past FOREMAN_WATCHDOG_STUCK_MINUTES + FOREMAN_REVIEW_RETRY_MINUTES → the review parked.
// Parked reviews are retried by review-retry (same finder, ids per parking, every ten minutes); the
// watchdog leaves them alone, since a task whose latest run submitted is not a stuck worker.
// The pass's clock is its first step, so a retried step rebuilds the same keys and event ids. The
// outbox is looked at first (before this pass adds rows to it) and stuck runs last (so the tasks it
// sends back to `ready` are not taken for lost events by the same pass).
import { cron } from "inngest";
import { claimProbe, readPushHealth } from "../lib/crm/outage.ts";
import { outboxStatus } from "../lib/outbox/drain.ts";
import {
  type CrmDrift,
  crmDriftSkipped,
  findCrmDrift,
  pushRound,
  requestResync,
} from "../lib/watchdog/crm-drift.ts";
import { outboxAlertDecision, thresholdsOf } from "../lib/watchdog/decide.ts";
import { findLeakedLeases, releaseLeaked } from "../lib/watchdog/leases.ts";
import { findLostEvents, resendLost } from "../lib/watchdog/lost-events.ts";
import { findLostWaits, resumeWait } from "../lib/watchdog/lost-waits.ts";
import { clearOutboxAlert, raiseOutboxAlert, readOutboxAlert } from "../lib/watchdog/outbox-alert.ts";
import { findStrandedDependents, promoteStranded } from "../lib/watchdog/stranded.ts";
import { findStuckRuns, repairStuck } from "../lib/watchdog/stuck.ts";
import { findUnreviewedWork, parkUnreviewed } from "../lib/watchdog/unreviewed.ts";
import { inngest } from "./client.ts";

/** Cases per check per pass: a backlog is worked off over passes, well inside 1,000 steps a run. */
const LIMIT = 50;

export const watchdog = inngest.createFunction(
  {
    id: "watchdog",
    name: "Find and repair stuck runs, leaked leases, lost events, CRM drift, lost waits and stranded dependents",
    retries: 2,
    singleton: { mode: "skip" },
    triggers: [cron("*/5 * * * *")],
  },
  async ({ step, deps }) => {
    const at = await step.run("clock", () => deps.now().toISOString());
    const now = new Date(at);
    const t = thresholdsOf(deps.config);
    const summary = {
      stuck: 0,
      leases: 0,
      resent: 0,
      resynced: 0,
      waits: 0,
      promoted: 0,
      orphaned: 0,
      unreviewed: 0,
      outbox: "none" as string,
    };

    // The outbox first, as it stood before this pass adds rows of its own to it.
    const outbox = await step.run("check-outbox", async () => {
      const [status, mark] = await Promise.all([outboxStatus(deps), readOutboxAlert(deps.db)]);
      const alert = mark === null ? "none" : mark.state === "notice_owed" ? "notice_owed" : "open";
      return { status, decision: outboxAlertDecision(status, alert, t.outboxMinutes) };
    });
    if (outbox.decision === "alert") {
      const r = await step.run("outbox-alert", () => raiseOutboxAlert(deps, outbox.status, at));
      summary.outbox = r.alerted;
    } else if (outbox.decision === "clear") {
      summary.outbox = await step.run("outbox-clear", () => clearOutboxAlert(deps, outbox.status));
    }

    const leases = await step.run("find-leaked-leases", () =>
      findLeakedLeases(deps.db, { now, graceMinutes: t.lostMinutes, limit: LIMIT }),
    );
    for (const l of leases) {
      const r = await step.run(`lease:${l.runId}`, () => releaseLeaked(deps, l, at));
      if (r.released) summary.leases++;
    }

    const lost = await step.run("find-lost-events", () =>
      findLostEvents(deps.db, { now, minutes: t.lostMinutes, limit: LIMIT }),
    );
    for (const c of lost) {
      await step.run(`resend:${c.taskId}:v${c.version}:${c.attempts + 1}`, () => resendLost(deps, c, at));
      summary.resent++;
    }

    const drift = await step.run("find-crm-drift", async () => {
      const skipped = await crmDriftSkipped(deps);
      if (skipped) return { skipped, cases: [] as CrmDrift[] };
      // During a HubSpot outage one ticket an hour probes it; after one, every ticket is owed again.
      const { round, probe } = pushRound(await readPushHealth(deps.db), now);
      const cases = await findCrmDrift(deps.db, {
        now,
        minutes: t.lostMinutes,
        limit: probe ? 1 : LIMIT,
        round,
      });
      // The hour's probe is spent only on a ticket to send: a pass that finds none yet (nothing quiet
      // so soon after the failure) leaves it to the next pass of the hour.
      if (probe && cases.length > 0 && !(await claimProbe(deps.db, round)))
        return { skipped, cases: [] as CrmDrift[] };
      return { skipped, cases };
    });
    for (const d of drift.cases) {
      await step.run(`resync:${d.taskId}:v${d.version}`, () => requestResync(deps, d, at));
      summary.resynced++;
    }

    const waits = await step.run("find-lost-waits", () =>
      findLostWaits(deps.db, { now, graceMinutes: t.lostMinutes, limit: LIMIT, clock: deps.config }),
    );
    for (const w of waits) {
      await step.run(`resume:${w.taskId}:${w.enteredEventId}:${w.attempts + 1}`, () =>
        resumeWait(deps, w, at),
      );
      summary.waits++;
    }

    const unreviewed = await step.run("find-unreviewed-work", () =>
      findUnreviewedWork(deps.db, {
        now,
        minutes: t.stuckMinutes + deps.config.FOREMAN_REVIEW_RETRY_MINUTES,
        limit: LIMIT,
      }),
    );
    for (const u of unreviewed) {
      const r = await step.run(`park-review:${u.deliverableId}`, () => parkUnreviewed(deps.db, u));
      if (r.parked) summary.unreviewed++;
    }

    const stranded = await step.run("find-stranded-dependents", () =>
      findStrandedDependents(deps.db, { now, minutes: t.lostMinutes, limit: LIMIT }),
    );
    for (const c of stranded) {
      const r = await step.run(`promote:${c.taskId}:v${c.version}`, () => promoteStranded(deps, c));
      if (r.promoted) summary.promoted++;
      if (r.triaged) summary.orphaned++;
    }

    // Stuck runs last: the tasks it sends back to `ready` are fresh moves, not lost events of this pass.
    const stuck = await step.run("find-stuck", () =>
      findStuckRuns(deps.db, { now, minutes: t.stuckMinutes, limit: LIMIT }),
    );
    for (const c of stuck) {
      const r = await step.run(`stuck:${c.taskId}:v${c.version}`, () => repairStuck(deps, c, t.stuckMinutes));
      if (r.outcome !== "moved_on") summary.stuck++;
    }

    return { at, ...summary, ...(drift.skipped ? { crmSkipped: drift.skipped } : {}) };
  },
);
