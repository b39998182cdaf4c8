// digest-weekly: the weekly digest (FOREMAN_DIGEST_WEEKLY_CRON, default Mondays 08:00 in
// FOREMAN_DIGEST_TZ), covering the seven days before the run — the same steps as the daily digest
// (functions/digest.ts), over a week.
import { digestFunction } from "./digest.ts";

export const digestWeekly = digestFunction("weekly");
