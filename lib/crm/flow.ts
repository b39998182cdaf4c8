// The CRM functions' flow control, from configuration. Inngest takes debounce, batching and throttle
// as part of a function's registration, which is built when the module loads — before any request —
// so these few variables are read from the runtime's environment at load time (Node: process.env;
// Workers with nodejs_compat: the bindings, which it exposes there) and parsed by the same zod schema
// as every other variable. A bad value fails the load with a message naming it.
import type { TimeStr } from "inngest";
import { type Config, parseConfigSubset } from "../config.ts";

const FLOW_KEYS = {
  CRM_SYNC_DEBOUNCE: true,
  CRM_SYNC_DEBOUNCE_MAX: true,
  CRM_SYNC_BATCH_WAIT: true,
  CRM_SYNC_THROTTLE_LIMIT: true,
  CRM_SYNC_THROTTLE_PERIOD: true,
} as const;

export type CrmFlowConfig = Pick<Config, keyof typeof FLOW_KEYS>;

export interface CrmFlowControl {
  /** crm-sync: per task, the quiet period and the longest wait. */
  debounce: { period: TimeStr; timeout: TimeStr };
  /** crm-push: up to 100 tasks per run, gathered for at most `timeout`. */
  batch: { maxSize: number; timeout: `${number}s` };
  /** crm-push: run starts per period, account-wide. */
  throttle: { limit: number; period: TimeStr };
}

/** A batch call takes at most 100 inputs (HubSpot's batch limit). */
export const MAX_BATCH = 100;

export const parseCrmFlow = (env: Record<string, string | undefined>): CrmFlowConfig =>
  parseConfigSubset(FLOW_KEYS, env, "CRM sync configuration");

export function crmFlowControl(config: CrmFlowConfig): CrmFlowControl {
  return {
    debounce: {
      period: config.CRM_SYNC_DEBOUNCE as TimeStr,
      timeout: config.CRM_SYNC_DEBOUNCE_MAX as TimeStr,
    },
    batch: { maxSize: MAX_BATCH, timeout: config.CRM_SYNC_BATCH_WAIT as `${number}s` },
    throttle: { limit: config.CRM_SYNC_THROTTLE_LIMIT, period: config.CRM_SYNC_THROTTLE_PERIOD as TimeStr },
  };
}

/** "1h2m3s" → milliseconds (for simulations and logs). */
export function periodMs(period: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(period);
  if (!m || period === "") throw new Error(`not a period: ${period}`);
  return ((Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 60 + Number(m[3] ?? 0)) * 1000;
}
