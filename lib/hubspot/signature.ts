// HubSpot request signature v3 (developers.hubspot.com, "Validating requests"): the header
// X-HubSpot-Signature-v3 is base64(HMAC-SHA256(app secret, method + uri + body + timestamp)), where
// the timestamp is X-HubSpot-Request-Timestamp (milliseconds) and `uri` is the full URL HubSpot
// called — scheme, host, path and query, in order — after decoding exactly twelve percent-escapes.
//
// What we do beyond HubSpot's SDK helper (`Signature.isValid`, see ../shared/notes/hubspot-slack.md §5):
//   - the HMAC runs over the raw body bytes as received, never a re-serialised body;
//   - the twelve escapes are decoded once (a `%253A` stays `%253A`); percent-escape hex digits are
//     case-insensitive (RFC 3986 §2.1: `%3a` and `%3A` are the same octet), so both decode;
//   - a timestamp more than 5 minutes old is refused, and so is one more than a minute in the future
//     (clock skew), instead of accepting any future time;
//   - the comparison is constant-time; every refusal says why.
// node:crypto's createHmac/timingSafeEqual are synchronous (no thread-pool round trip per request)
// and exist on Workers under nodejs_compat.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-hubspot-signature-v3";
export const TIMESTAMP_HEADER = "x-hubspot-request-timestamp";
export const MAX_AGE_MS = 5 * 60_000;
export const MAX_FUTURE_SKEW_MS = 60_000;

// HubSpot's table: %3A : · %2F / · %3F ? · %40 @ · %21 ! · %24 $ · %27 ' · %28 ( · %29 ) · %2A * ·
// %2C , · %3B ;  — and no other escape.
const SIGNED_ESCAPES = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

/** Decodes the twelve escapes HubSpot decodes before signing, in one pass; every other one stays. */
export function decodeSignedEscapes(uri: string): string {
  return uri.replace(SIGNED_ESCAPES, (esc) => String.fromCharCode(Number.parseInt(esc.slice(1), 16)));
}

/**
 * The URI HubSpot signed for a request that arrived at `requestUrl`: its path and query exactly as
 * received, after `publicUrl` (FOREMAN_PUBLIC_URL: the public base URL behind a proxy; a path in it is
 * a prefix the proxy strips) or else the request's own scheme and host, with the escapes decoded.
 */
export function signedUri(requestUrl: string, publicUrl?: string): string {
  let uri = requestUrl;
  if (publicUrl) {
    const authority = requestUrl.indexOf("://");
    const pathStart = requestUrl.indexOf("/", authority < 0 ? 0 : authority + 3);
    const pathAndQuery = pathStart < 0 ? "/" : requestUrl.slice(pathStart);
    uri = publicUrl.replace(/\/+$/, "") + pathAndQuery;
  }
  return decodeSignedEscapes(uri);
}

/** The v3 signature of a request (what HubSpot sends; the sample sender and tests use it too). */
export function signatureV3(
  secret: string,
  method: string,
  uri: string,
  body: string | Uint8Array,
  timestamp: string,
): string {
  return createHmac("sha256", secret)
    .update(method)
    .update(uri)
    .update(body)
    .update(timestamp)
    .digest("base64");
}

export type SignatureProblem = "missing_headers" | "invalid_timestamp" | "stale" | "future" | "mismatch";

export type SignatureCheck = { ok: true } | { ok: false; problem: SignatureProblem; reason: string };

export interface VerifyInput {
  secret: string;
  method: string;
  /** The signed URI (`signedUri`). */
  uri: string;
  /** The raw body bytes (or text) as received. */
  body: string | Uint8Array;
  signature: string | null | undefined;
  timestamp: string | null | undefined;
  /** The current time in ms. */
  now: number;
  maxAgeMs?: number;
  maxFutureSkewMs?: number;
}

const refuse = (problem: SignatureProblem, reason: string): SignatureCheck => ({
  ok: false,
  problem,
  reason,
});

/** Verifies a v3 signature: headers present, timestamp in the window, HMAC equal in constant time. */
export function verifySignatureV3(input: VerifyInput): SignatureCheck {
  const { signature, timestamp } = input;
  const missing = [
    ...(signature ? [] : ["X-HubSpot-Signature-v3"]),
    ...(timestamp ? [] : ["X-HubSpot-Request-Timestamp"]),
  ];
  if (!signature || !timestamp) {
    return refuse("missing_headers", `The request is not signed: ${missing.join(" and ")} missing.`);
  }
  if (!/^\d{1,16}$/.test(timestamp)) {
    return refuse("invalid_timestamp", "X-HubSpot-Request-Timestamp must be a time in milliseconds.");
  }
  const age = input.now - Number(timestamp);
  const maxAge = input.maxAgeMs ?? MAX_AGE_MS;
  const maxSkew = input.maxFutureSkewMs ?? MAX_FUTURE_SKEW_MS;
  if (age > maxAge) {
    return refuse(
      "stale",
      `The request timestamp is ${Math.round(age / 1000)} s old; at most ${maxAge / 1000} s is accepted.`,
    );
  }
  if (-age > maxSkew) {
    return refuse(
      "future",
      `The request timestamp is ${Math.round(-age / 1000)} s in the future; at most ${maxSkew / 1000} s of clock skew is accepted.`,
    );
  }
  const expected = Buffer.from(signatureV3(input.secret, input.method, input.uri, input.body, timestamp));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refuse(
      "mismatch",
      "The signature does not match the request (method, URL, body and timestamp signed with the app secret).",
    );
  }
  return { ok: true };
}
