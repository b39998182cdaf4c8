// The one list of Inngest functions; every serve handler (Node, Workers) serves exactly this array.
import { crmInbound } from "./crm-inbound.ts";
import { crmPush } from "./crm-push.ts";
import { crmSync } from "./crm-sync.ts";
import { digest } from "./digest.ts";
import { digestWeekly } from "./digest-weekly.ts";
import { intake } from "./intake.ts";
import { notify } from "./notify.ts";
import { outboxDrain } from "./outbox-drain.ts";
import { promote } from "./promote.ts";
import { releaseOnCancel } from "./release-on-cancel.ts";
import { retriage } from "./retriage.ts";
import { review } from "./review.ts";
import { reviewRetry } from "./review-retry.ts";
import { schedule } from "./schedule.ts";
import { watchdog } from "./watchdog.ts";
import { work } from "./work.ts";

export const functions = [
  intake,
  retriage,
  schedule,
  work,
  review,
  reviewRetry,
  releaseOnCancel,
  promote,
  outboxDrain,
  crmSync,
  crmPush,
  crmInbound,
  notify,
  watchdog,
  digest,
  digestWeekly,
];
