// HubSpot's API rate limits as the fake enforces them (../shared/notes/hubspot-slack.md §6): a rolling
// 10-second burst window per app (private apps: 100 requests / 10 s on Free and Starter) and a daily
// cap per account. Every counted response carries X-HubSpot-RateLimit-Interval-Milliseconds, -Max,
// -Remaining, -Daily and -Daily-Remaining; a request over a limit is answered 429 with HubSpot's body
// (`errorType: RATE_LIMIT`, `policyName: TEN_SECONDLY_ROLLING` or `DAILY`) and no Retry-After — the API
// does not send one; the window size is in the headers. Refused requests do not count against the
// window. The clock is injectable so a simulated engine can drive the window in virtual time.
import { randomUUID } from "node:crypto";

export interface RateLimitOptions {
  /** Requests allowed in any rolling window of `intervalMs`. */
  max: number;
  intervalMs: number;
  /** Requests allowed per day (the account's daily cap). */
  dailyMax: number;
}

/** Private apps on Free / Starter: 100 per 10 s, 250,000 a day. */
export const PRIVATE_APP_LIMITS: RateLimitOptions = { max: 100, intervalMs: 10_000, dailyMax: 250_000 };

export type Admission =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; headers: Record<string, string>; body: Record<string, unknown> };

export interface RateLimiter {
  /** Counts the request if it is within both limits; otherwise says why not (nothing is counted). */
  admit(): Admission;
  /** Requests answered 429 so far. */
  readonly refused: number;
  reset(): void;
  configure(limits: RateLimitOptions | false): void;
}

export function rateLimiter(initial: RateLimitOptions | false, now: () => number): RateLimiter {
  let limits = initial;
  let window: number[] = []; // admitted request times within the interval, oldest first
  let today = 0;
  let refused = 0;

  const headers = (l: RateLimitOptions, remaining: number): Record<string, string> => ({
    "X-HubSpot-RateLimit-Interval-Milliseconds": String(l.intervalMs),
    "X-HubSpot-RateLimit-Max": String(l.max),
    "X-HubSpot-RateLimit-Remaining": String(Math.max(0, remaining)),
    "X-HubSpot-RateLimit-Daily": String(l.dailyMax),
    "X-HubSpot-RateLimit-Daily-Remaining": String(Math.max(0, l.dailyMax - today)),
  });
  const refusal = (message: string, policyName: string) => ({
    status: "error",
    message,
    errorType: "RATE_LIMIT",
    correlationId: randomUUID(),
    policyName,
  });

  return {
    admit(): Admission {
      if (!limits) return { ok: true, headers: {} };
      const t = now();
      while (window.length > 0 && (window[0] as number) <= t - limits.intervalMs) window.shift();
      if (today >= limits.dailyMax) {
        refused++;
        return {
          ok: false,
          headers: headers(limits, limits.max - window.length),
          body: refusal("You have reached your daily limit.", "DAILY"),
        };
      }
      if (window.length >= limits.max) {
        refused++;
        return {
          ok: false,
          headers: headers(limits, 0),
          body: refusal("You have reached your ten_secondly_rolling limit.", "TEN_SECONDLY_ROLLING"),
        };
      }
      window.push(t);
      today++;
      return { ok: true, headers: headers(limits, limits.max - window.length) };
    },
    get refused() {
      return refused;
    },
    reset() {
      window = [];
      today = 0;
      refused = 0;
    },
    configure(next) {
      limits = next;
    },
  };
}
