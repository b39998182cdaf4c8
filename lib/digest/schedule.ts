// The digests' schedules, from configuration. An Inngest cron is part of the function's registration,
// which is built when the module loads — before any request — so, as lib/crm/flow.ts does for the CRM
// functions' flow control, these variables are read from the runtime's environment at load time and
// parsed by the same zod schema as every other variable; a bad value fails the load naming it. The
// period itself is computed per run from deps.config (the same variables, parsed the same way).
import { type Config, parseConfigSubset } from "../config.ts";
import type { DigestKind } from "./period.ts";

const SCHEDULE_KEYS = {
  FOREMAN_DIGEST_TZ: true,
  FOREMAN_DIGEST_CRON: true,
  FOREMAN_DIGEST_WEEKLY_CRON: true,
} as const;

export type DigestSchedule = Pick<Config, keyof typeof SCHEDULE_KEYS>;

export const parseDigestSchedule = (env: Record<string, string | undefined>): DigestSchedule =>
  parseConfigSubset(SCHEDULE_KEYS, env, "digest schedule");

/** Inngest's cron for a digest (`TZ=Area/City m h dom mon dow`), or undefined when it is off. */
export function digestCron(schedule: DigestSchedule, kind: DigestKind): string | undefined {
  const expr = kind === "daily" ? schedule.FOREMAN_DIGEST_CRON : schedule.FOREMAN_DIGEST_WEEKLY_CRON;
  return expr === "off" ? undefined : `TZ=${schedule.FOREMAN_DIGEST_TZ} ${expr.split(/\s+/).join(" ")}`;
}
