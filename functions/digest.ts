// digest: the daily digest (and, through digestFunction, the weekly one in digest-weekly.ts). A cron
// in FOREMAN_DIGEST_TZ (default 08:00 on weekdays) runs the rhythm of seed 002 — gather, decide, then
// act: the period's numbers in one query; skip when nothing happened (the skip is the run's result,
// nothing is posted); a short summary by the local model, or the template with the same numbers; one
// Slack post per period (a WOULD_DO record in dry-run). The daily and weekly digests are separate
// registrations so that Monday's two firings never share a singleton, and each knows its period by
// construction rather than by reading the cron back from the event.
import { cron } from "inngest";
import { budgetLimits } from "../lib/budget/status.ts";
import { loadEnv } from "../lib/config.ts";
import { worthSending } from "../lib/digest/decide.ts";
import { gatherDigest } from "../lib/digest/gather.ts";
import { cronWeekdays, type DigestKind, digestPeriod } from "../lib/digest/period.ts";
import { postDigest } from "../lib/digest/post.ts";
import { digestCron, parseDigestSchedule } from "../lib/digest/schedule.ts";
import { writeSummary } from "../lib/digest/write.ts";
import { meterKey } from "../lib/llm/meter.ts";
import { inngest } from "./client.ts";

const schedule = parseDigestSchedule(loadEnv());

export function digestFunction(kind: DigestKind) {
  const expr = digestCron(schedule, kind);
  return inngest.createFunction(
    {
      id: kind === "daily" ? "digest" : "digest-weekly",
      name: kind === "daily" ? "Daily digest to Slack" : "Weekly digest to Slack",
      retries: 3,
      // One run at a time: a late run and the next firing must not gather and post side by side.
      singleton: { mode: "skip" },
      // "off" leaves the function registered without a trigger (it can still be invoked).
      triggers: expr ? [cron(expr)] : [],
    },
    async ({ step, deps, runId, attempt }) => {
      // The clock is its own step: a retried run covers the same period and the same "now".
      const period = await step.run("period", () =>
        digestPeriod(kind, deps.now(), deps.config.FOREMAN_DIGEST_TZ, {
          // The daily covers the days since its previous firing (Monday's: Friday to Sunday).
          ...(kind === "daily" && deps.config.FOREMAN_DIGEST_CRON !== "off"
            ? { firesOn: cronWeekdays(deps.config.FOREMAN_DIGEST_CRON) }
            : {}),
        }),
      );
      const digest = await step.run("gather", () => gatherDigest(deps.db, period, budgetLimits(deps.config)));
      const decision = worthSending(digest);
      if (!decision.send) return { state: "skipped" as const, reason: decision.reason, period, digest };
      const summary = await step.run("write", () =>
        writeSummary(deps, digest, meterKey(`${runId}:digest`, attempt)),
      );
      const post = await step.run("post", () => postDigest(deps, digest, summary));
      return { state: post.posted, because: decision.because, period, digest, summary, post };
    },
  );
}

export const digest = digestFunction("daily");
