// Slack request verification, version v0 (api.slack.com/authentication/verifying-requests-from-slack;
// ../shared/notes/hubspot-slack.md §10): X-Slack-Signature is `v0=` + hex(HMAC-SHA256(signing secret,
// `v0:${X-Slack-Request-Timestamp}:${raw body}`)), the timestamp in unix seconds.
//
// What we do beyond Bolt's `verifySlackRequest`:
//   - the HMAC runs over the raw body bytes as received (verify before any parsing);
//   - a timestamp older than 5 minutes is refused, and so is one more than a minute in the future
//     (Bolt accepts any future time, so a captured request signed "ahead" would replay for longer);
//   - the signature must be exactly `v0=` + 64 lowercase hex digits (what Slack sends); the digest
//     bytes are compared in constant time;
//   - a previous signing secret is accepted during rotation, and the result says which one matched;
//   - every refusal is typed and says why.
// node:crypto's createHmac/timingSafeEqual are synchronous and exist on Workers under nodejs_compat.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-slack-signature";
export const TIMESTAMP_HEADER = "x-slack-request-timestamp";
export const MAX_AGE_S = 5 * 60;
export const MAX_FUTURE_SKEW_S = 60;

const SIGNATURE_FORMAT = /^v0=[0-9a-f]{64}$/;
// Unix seconds: up to 12 digits (year 33658), no sign, no spaces, no exponent.
const TIMESTAMP_FORMAT = /^\d{1,12}$/;

/** The v0 signature of a request (what Slack sends; test helpers and fakes sign with it too). */
export function slackSignature(secret: string, timestamp: string, body: string | Uint8Array): string {
  return `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest("hex")}`;
}

export type SlackSignatureProblem = "missing_headers" | "malformed" | "stale" | "future" | "mismatch";

export type SlackSignatureCheck =
  | { ok: true; secret: "current" | "previous" }
  | { ok: false; problem: SlackSignatureProblem; reason: string };

export interface SlackVerifyInput {
  /** SLACK_SIGNING_SECRET. */
  signingSecret: string;
  /** The secret being rotated out, accepted until it is removed from config. */
  previousSigningSecret?: string | undefined;
  /** The raw body bytes (or text) exactly as received. */
  body: string | Uint8Array;
  signature: string | null | undefined;
  timestamp: string | null | undefined;
  /** The current time in ms. */
  now: number;
  maxAgeS?: number;
  maxFutureSkewS?: number;
}

const refuse = (problem: SlackSignatureProblem, reason: string): SlackSignatureCheck => ({
  ok: false,
  problem,
  reason,
});

const digestOf = (secret: string, timestamp: string, body: string | Uint8Array): Buffer =>
  createHmac("sha256", secret).update(`v0:${timestamp}:`).update(body).digest();

/** Verifies a Slack request: headers present and well-formed, timestamp in the window, HMAC equal. */
export function verifySlackSignature(input: SlackVerifyInput): SlackSignatureCheck {
  // An empty key is a key everyone knows: a configuration error, never a request that passes.
  if (!input.signingSecret) throw new Error("verifySlackSignature: the signing secret is empty");
  const { signature, timestamp } = input;
  if (!signature || !timestamp) {
    const missing = [
      ...(signature ? [] : ["X-Slack-Signature"]),
      ...(timestamp ? [] : ["X-Slack-Request-Timestamp"]),
    ];
    return refuse("missing_headers", `The request is not signed by Slack: ${missing.join(" and ")} missing.`);
  }
  if (!TIMESTAMP_FORMAT.test(timestamp)) {
    return refuse("malformed", "X-Slack-Request-Timestamp must be a unix time in seconds.");
  }
  if (!SIGNATURE_FORMAT.test(signature)) {
    return refuse("malformed", "X-Slack-Signature must be v0= followed by 64 lowercase hex digits.");
  }
  const age = Math.floor(input.now / 1000) - Number(timestamp);
  const maxAge = input.maxAgeS ?? MAX_AGE_S;
  const maxSkew = input.maxFutureSkewS ?? MAX_FUTURE_SKEW_S;
  if (age > maxAge) {
    return refuse("stale", `The request timestamp is ${age} s old; at most ${maxAge} s is accepted.`);
  }
  if (-age > maxSkew) {
    return refuse(
      "future",
      `The request timestamp is ${-age} s in the future; at most ${maxSkew} s of clock skew is accepted.`,
    );
  }
  const given = Buffer.from(signature.slice(3), "hex");
  // Both secrets are always tried, so the time taken does not say which one (if any) matched.
  const current = timingSafeEqual(given, digestOf(input.signingSecret, timestamp, input.body));
  const previous = input.previousSigningSecret
    ? timingSafeEqual(given, digestOf(input.previousSigningSecret, timestamp, input.body))
    : false;
  if (current) return { ok: true, secret: "current" };
  if (previous) return { ok: true, secret: "previous" };
  return refuse(
    "mismatch",
    "The signature does not match the request (timestamp and raw body signed with the Slack signing secret).",
  );
}
