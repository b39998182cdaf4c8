// Readable, time-sortable ids: `<prefix>_<10 chars time><16 chars random>` in Crockford base32 (a ULID
// body), so ids sort by creation time and double as pagination cursors.

import { createHash } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix = "task" | "proj" | "plan" | "run" | "rev" | "stamp" | "kn" | "wkr" | "rvw" | "dlv";

// Random bytes are drawn from the CSPRNG 4 KB at a time: one call per id cost more than the rest of
// newId (a 100-ticket webhook batch makes 100 ids; randomFillSync was 2.7 % of the server's CPU).
const pool = new Uint8Array(4096);
let offset = pool.length;
function randomBytes16(): Uint8Array {
  if (offset + 16 > pool.length) {
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  return bytes;
}

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes16();
  let rand = "";
  for (const b of bytes) rand += ALPHABET[b % 32];
  return `${prefix}_${time}${rand}`;
}

export const ID_PATTERN = /^[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}$/;

/** A stable id for something a retried step must name the same way every time (e.g. a run it leases). */
export function stableId(prefix: IdPrefix, seed: string): string {
  const digest = createHash("sha256").update(seed).digest();
  let body = "";
  for (let i = 0; i < 26; i++) body += ALPHABET[(digest[i] as number) % 32];
  return `${prefix}_${body}`;
}
