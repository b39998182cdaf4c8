// Fuzz: stamp link tokens mutated from genuine ones (bit flips in the token text, in the payload bytes
// and in the MAC bytes, truncation, insertions, payload/MAC swaps between tokens, other deployments'
// keys, a retired key, forged expiry, expiry passed) must never verify, while the unmutated originals
// (current and previous key) do. Seeded PRNG: FUZZ_SEED=<n> reruns another sequence.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { prng, type Rand } from "../../test/random.ts";
import { createStampLink, type StampLink, verifyStampToken } from "./link.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 0x57a3);
const CASES = 3000;

const KEY = "stamp-link-key-0123456789abcdef0123";
const PREVIOUS = "previous-stamp-link-key-fedcba98765";
const RETIRED = "retired-stamp-link-key-000000000000";
const OTHERS = [
  "another-deployment-key-11111111111",
  "stamp-link-key-0123456789abcdef0124",
  KEY.toUpperCase(),
];
const NOW = 1_760_000_000_000;
const HASHES = ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "0".repeat(64)];
const TASKS = [
  "task_01jz8k3m4n5p6q7r8s9t0v1w2x",
  "task_01jz8k3m4n5p6q7r8s9t0v1w2y",
  "task_0000000000000000000000000z",
];

interface Case {
  token: string;
  now: number;
}

const mint = (r: Rand, key = r.next() < 0.2 ? PREVIOUS : KEY): StampLink =>
  createStampLink({
    key,
    taskId: r.pick(TASKS),
    deliverableHash: r.pick(HASHES),
    now: NOW - r.int(86_400_000),
  });

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const parts = (token: string) => token.split(".") as [string, string];
const flipBit = (bytes: Uint8Array, r: Rand) => {
  const out = Uint8Array.from(bytes);
  const i = r.int(out.length);
  out[i] = (out[i] as number) ^ (1 << r.int(8));
  return out;
};
const resign = (key: string, json: unknown) => {
  const segment = Buffer.from(JSON.stringify(json)).toString("base64url");
  return `${segment}.${createHmac("sha256", key).update(segment).digest("base64url")}`;
};

const MUTATIONS: Record<string, (link: StampLink, r: Rand) => Case> = {
  "token text bit flip": (l, r) => {
    let token = l.token;
    while (token === l.token) {
      const i = r.int(token.length);
      token =
        token.slice(0, i) + String.fromCharCode(token.charCodeAt(i) ^ (1 << r.int(7))) + token.slice(i + 1);
    }
    return { token, now: NOW };
  },
  "payload byte bit flips": (l, r) => {
    const [p, m] = parts(l.token);
    let bytes = Buffer.from(p, "base64url");
    for (let n = 1 + r.int(3); n > 0; n--) bytes = Buffer.from(flipBit(bytes, r));
    const flipped = b64(bytes);
    return { token: `${flipped === p ? `${p}A` : flipped}.${m}`, now: NOW };
  },
  "MAC byte bit flip": (l, r) => {
    const [p, m] = parts(l.token);
    return { token: `${p}.${b64(flipBit(Buffer.from(m, "base64url"), r))}`, now: NOW };
  },
  truncated: (l, r) => ({ token: l.token.slice(0, r.int(l.token.length)), now: NOW }),
  "characters inserted or deleted": (l, r) => {
    const i = r.int(l.token.length);
    const c = r.pick(["A", "-", "_", ".", "=", "%", " ", "\n", "é", "0"]);
    return {
      token:
        r.next() < 0.5
          ? l.token.slice(0, i) + c + l.token.slice(i)
          : l.token.slice(0, i) + l.token.slice(i + 1),
      now: NOW,
    };
  },
  "payload of one token, MAC of another": (l, r) => {
    const other = mint(r);
    return { token: `${parts(l.token)[0]}.${parts(other.token)[1]}`, now: NOW };
  },
  "signed by another deployment's key": (l, r) => ({ token: resign(r.pick(OTHERS), l.payload), now: NOW }),
  "signed by a retired key": (l) => ({ token: resign(RETIRED, l.payload), now: NOW }),
  "expiry, task or version forged (old MAC kept)": (l, r) => {
    const forged = r.pick([
      { ...l.payload, exp: l.payload.exp + 1 + r.int(10_000_000) },
      { ...l.payload, task: TASKS.find((t) => t !== l.payload.task) },
      { ...l.payload, hash: HASHES.find((h) => h !== l.payload.hash) },
      { ...l.payload, stage: "internal" },
    ]);
    return {
      token: `${Buffer.from(JSON.stringify(forged)).toString("base64url")}.${parts(l.token)[1]}`,
      now: NOW,
    };
  },
  "used after expiry": (l, r) => ({ token: l.token, now: l.payload.exp * 1000 + r.int(100 * 86_400_000) }),
  "padding or standard base64": (l, r) => {
    const [p, m] = parts(l.token);
    const std = (s: string) => Buffer.from(s, "base64url").toString("base64");
    return {
      token: r.pick([`${p}.${m}=`, `${std(p)}.${m}`, `${p}.${std(m)}`, `${p}==.${m}`, `${l.token}.`]),
      now: NOW,
    };
  },
};

const check = (c: Case) => verifyStampToken({ token: c.token, key: KEY, previousKey: PREVIOUS, now: c.now });

describe("stamp link fuzz", () => {
  it("accepts every unmutated original (current and previous key)", () => {
    const r = prng(SEED);
    for (let i = 0; i < 200; i++) {
      const link = mint(r);
      const v = check({ token: link.token, now: NOW });
      expect(v.ok, `seed ${SEED} original ${i}`).toBe(true);
      expect(v.ok && v.payload).toEqual(link.payload);
    }
  });

  it(`accepts none of ${CASES} mutated tokens`, () => {
    const r = prng(SEED + 1);
    const names = Object.keys(MUTATIONS);
    const byMutation: Record<string, number> = {};
    const byProblem: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const name = names[i % names.length] as string;
      const link = mint(r);
      const c = (MUTATIONS[name] as (l: StampLink, r: Rand) => Case)(link, r);
      expect(c.token === link.token && c.now === NOW, `seed ${SEED} case ${i}: ${name} changed nothing`).toBe(
        false,
      );
      const v = check(c);
      expect(v.ok, `seed ${SEED} case ${i}: ${name} was accepted: ${c.token}`).toBe(false);
      byMutation[name] = (byMutation[name] ?? 0) + 1;
      if (!v.ok) byProblem[v.problem] = (byProblem[v.problem] ?? 0) + 1;
    }
    for (const name of names) expect(byMutation[name], name).toBeGreaterThanOrEqual(200);
    expect(Object.keys(byProblem).sort()).toEqual(["bad_signature", "expired", "malformed", "truncated"]);
  });
});
