// Signed, expiring, single-use client stamp links (`/stamp/:token`).
//
//   token   = base64url(payload JSON) + "." + base64url(HMAC-SHA256(key, <the payload segment>))
//   payload = { v: 1, tid, task, stage: "client", hash, exp, nonce }
// tid is a random token id (the `stamp_links` primary key), hash the deliverable version the client is shown, exp unix seconds (default 14 days),
// nonce 128 random bits. The MAC covers the payload segment exactly as sent, and both segments must be
// canonical unpadded base64url (Buffer's decoder ignores stray characters and trailing bits, so a
// re-encoding check keeps one payload from having many spellings). The MAC is checked before the
// payload is parsed; the previous key is tried too while keys rotate.
//
// Single use is enforced by the caller (lib/stamps/links.ts): the decision is a stamp whose source
// reference is the token id, and the stamps unique index refuses a second one in the same statement.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";

export const STAMP_LINK_TTL_S = 14 * 24 * 60 * 60;
export const MIN_KEY_LENGTH = 32;
export const MAX_TOKEN_LENGTH = 1024;

const B64URL = /^[A-Za-z0-9_-]+$/;
const MAC_LENGTH = 43; // 32 bytes, unpadded base64url
const RANDOM_ID = /^[A-Za-z0-9_-]{22}$/; // 16 bytes

const payloadSchema = z.strictObject({
  v: z.literal(1),
  tid: z.string().regex(RANDOM_ID),
  task: z.string().regex(/^task_[0-9a-hjkmnp-tv-z]{26}$/),
  stage: z.literal("client"),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  exp: z.number().int().positive(),
  nonce: z.string().regex(RANDOM_ID),
});

export type StampLinkPayload = z.infer<typeof payloadSchema>;

export type StampLinkProblem =
  | "malformed"
  | "truncated"
  | "bad_signature"
  | "unsupported_version"
  | "expired";

export type StampLinkCheck =
  | { ok: true; payload: StampLinkPayload; key: "current" | "previous" }
  | { ok: false; problem: StampLinkProblem; reason: string };

function checkKey(key: string, name: string): void {
  if (Buffer.byteLength(key) < MIN_KEY_LENGTH) {
    throw new Error(`${name} must be at least ${MIN_KEY_LENGTH} bytes`);
  }
}

const mac = (key: string, segment: string): Buffer => createHmac("sha256", key).update(segment).digest();

export interface CreateStampLinkInput {
  key: string;
  taskId: string;
  deliverableHash: string;
  /** The current time in ms. */
  now: number;
  ttlS?: number;
  /**
   * Makes minting repeatable: the same seed (and `now`) yields the same token, so a retried step
   * re-sends the link it minted instead of a second one. The ids are derived under the key, so they
   * stay unguessable without it.
   */
  seed?: string;
}

export interface StampLink {
  token: string;
  tokenId: string;
  expiresAt: Date;
  payload: StampLinkPayload;
}

const idFrom = (input: CreateStampLinkInput, what: string): string =>
  (input.seed === undefined
    ? randomBytes(16)
    : createHmac("sha256", input.key).update(`${what}:${input.seed}`).digest().subarray(0, 16)
  ).toString("base64url");

/** Mints a link token; store `tokenId`, the task, the hash and `expiresAt` in `stamp_links`. */
export function createStampLink(input: CreateStampLinkInput): StampLink {
  checkKey(input.key, "the stamp link key");
  const ttl = input.ttlS ?? STAMP_LINK_TTL_S;
  if (!Number.isInteger(ttl) || ttl <= 0) throw new Error("the stamp link lifetime must be positive seconds");
  const payload = payloadSchema.parse({
    v: 1,
    tid: idFrom(input, "tid"),
    task: input.taskId,
    stage: "client",
    hash: input.deliverableHash,
    exp: Math.floor(input.now / 1000) + ttl,
    nonce: idFrom(input, "nonce"),
  });
  const segment = Buffer.from(JSON.stringify(payload)).toString("base64url");
  return {
    token: `${segment}.${mac(input.key, segment).toString("base64url")}`,
    tokenId: payload.tid,
    expiresAt: new Date(payload.exp * 1000),
    payload,
  };
}

export interface VerifyStampTokenInput {
  token: string;
  key: string;
  previousKey?: string | undefined;
  /** The current time in ms. */
  now: number;
}

const refuse = (problem: StampLinkProblem, reason: string): StampLinkCheck => ({
  ok: false,
  problem,
  reason,
});

const canonical = (segment: string): Buffer | undefined => {
  if (!B64URL.test(segment)) return undefined;
  const bytes = Buffer.from(segment, "base64url");
  return bytes.toString("base64url") === segment ? bytes : undefined;
};

/** Verifies a link token's signature, shape and expiry (single use is the database's job). */
export function verifyStampToken(input: VerifyStampTokenInput): StampLinkCheck {
  checkKey(input.key, "the stamp link key");
  if (input.previousKey !== undefined) checkKey(input.previousKey, "the previous stamp link key");
  const { token } = input;
  if (token.length > MAX_TOKEN_LENGTH) return refuse("malformed", "This link is not a stamp link.");
  const parts = token.split(".");
  if (parts.length !== 2 || !parts[0]) return refuse("malformed", "This link is not a stamp link.");
  const [segment, macText] = parts as [string, string];
  const payloadBytes = canonical(segment);
  if (!payloadBytes) return refuse("malformed", "This link is not a stamp link.");
  if (macText.length < MAC_LENGTH) {
    return refuse("truncated", "This link is incomplete: copy the whole address from the message.");
  }
  const given = canonical(macText);
  if (given?.length !== 32) return refuse("malformed", "This link is not a stamp link.");
  // Both keys are always tried, so the time taken does not say which (if any) matched.
  const current = timingSafeEqual(given, mac(input.key, segment));
  const previous = input.previousKey ? timingSafeEqual(given, mac(input.previousKey, segment)) : false;
  if (!current && !previous) {
    return refuse("bad_signature", "This link has been altered or was not issued by us.");
  }
  let json: unknown;
  try {
    json = JSON.parse(payloadBytes.toString("utf8"));
  } catch {
    return refuse("malformed", "This link is not a stamp link.");
  }
  if (typeof json === "object" && json !== null && "v" in json && json.v !== 1) {
    return refuse("unsupported_version", "This link was issued by another version; ask for a new one.");
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return refuse("malformed", "This link is not a stamp link.");
  if (Math.floor(input.now / 1000) >= parsed.data.exp) {
    const when = new Date(parsed.data.exp * 1000).toISOString();
    return refuse("expired", `This link expired at ${when}; ask for a new one.`);
  }
  return { ok: true, payload: parsed.data, key: current ? "current" : "previous" };
}
