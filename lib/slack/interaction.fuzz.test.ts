// Fuzz: Slack interaction requests mutated from genuine ones (bit flips in body and signature, header
// drops, timestamp shifts both ways, replays with other bodies and late, other workspaces' secrets, a
// retired secret) must never be accepted, while the unmutated originals are. "Accepted" means what
// the route would act on: the signature verifies and the body parses to a stamp action or a retry.
// Seeded PRNG: FUZZ_SEED=<n> reruns another sequence; a failure names seed, case and mutation.
import { describe, expect, it } from "vitest";
import { prng, type Rand } from "../../test/random.ts";
import { parseInteraction } from "./payload.ts";
import { slackSignature, verifySlackSignature } from "./verify.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 0x51ac);
const CASES = 3000;

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const PREVIOUS = "a-previous-signing-secret-000000";
const OTHERS = [
  "another-workspace-secret-1111111",
  "",
  "8f742231b10e8888abcd99yyyzzz85a6",
  SECRET.toUpperCase(),
];
const RETIRED = "a-retired-signing-secret-9999999";
const NOW = 1_760_000_000_000;
const TASK = "task_01jz8k3m4n5p6q7r8s9t0v1w2x";
const HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const REF = JSON.stringify({ taskId: TASK, hash: HASH });

const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
const click = (actionId: string, userId: string, container: Record<string, unknown>, extra = {}) => ({
  type: "block_actions",
  user: { id: userId, username: "someone", team_id: "T0001" },
  team: { id: "T0001", domain: "acme" },
  container,
  trigger_id: "1111.2222.abcd",
  actions: [
    {
      type: "button",
      action_id: actionId,
      block_id: `stamp:${TASK}:${HASH}`,
      value: REF,
      action_ts: "1760000001.1",
    },
  ],
  ...extra,
});
const message = { type: "message", message_ts: "1760000000.000100", channel_id: "C0REVIEW" };
const BODIES = [
  form(
    click("stamp:approve", "U0ANA", message, {
      channel: { id: "C0REVIEW" },
      response_url: "https://hooks.slack.com/a/1",
    }),
  ),
  form(
    click("stamp:reject", "U0BOB", message, {
      channel: { id: "C0REVIEW" },
      response_url: "https://hooks.slack.com/a/2",
    }),
  ),
  form(
    click("stamp:changes", "U0ANA", {
      type: "message_attachment",
      message_ts: "1.2",
      channel_id: "C0REVIEW",
    }),
  ),
  form(
    click(
      "stamp:approve",
      "U0CAT",
      { type: "view", view_id: "V0HOME" },
      { view: { id: "V0HOME", type: "home" } },
    ),
  ),
  form({
    ...click("task:retry", "U0DAN", message, { channel: { id: "C0REVIEW" } }),
    actions: [
      {
        type: "button",
        action_id: "task:retry",
        block_id: `retry:${TASK}`,
        value: JSON.stringify({ taskId: TASK }),
        action_ts: "1760000002.1",
      },
    ],
  }),
  form({
    type: "view_submission",
    user: { id: "U0ANA", team_id: "T0001" },
    team: { id: "T0001" },
    view: {
      id: "V0MODAL",
      callback_id: "stamp:changes",
      private_metadata: REF,
      state: {
        values: { b: { "stamp:note": { type: "plain_text_input", value: "Cite the source, please" } } },
      },
    },
    response_urls: [],
  }),
];

interface Request {
  body: string | Uint8Array;
  signature: string | undefined;
  timestamp: string | undefined;
  now: number;
  secret?: string;
}

const original = (r: Rand): Request => {
  const body = r.pick(BODIES);
  const timestamp = String(NOW / 1000 - r.int(240));
  const secret = r.next() < 0.2 ? PREVIOUS : SECRET; // some originals are signed with the old secret
  return { body, timestamp, signature: slackSignature(secret, timestamp, body), now: NOW };
};

const flipBit = (bytes: Uint8Array, r: Rand) => {
  const out = Uint8Array.from(bytes);
  const i = r.int(out.length);
  out[i] = (out[i] as number) ^ (1 << r.int(8));
  return out;
};
const flipChar = (s: string, r: Rand) => {
  const i = r.int(s.length);
  return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << r.int(7))) + s.slice(i + 1);
};
const shift = (r: Rand) => (r.next() < 0.5 ? -1 : 1) * (1 + r.int(r.next() < 0.5 ? 600 : 10_000_000));

/** Each mutation returns a request that differs from the original in what Slack signed. */
const MUTATIONS: Record<string, (req: Request, r: Rand) => Request> = {
  "body bit flips": (q, r) => {
    let b = Buffer.from(q.body);
    for (let n = 1 + r.int(3); n > 0; n--) b = Buffer.from(flipBit(b, r));
    return Buffer.compare(b, Buffer.from(q.body)) === 0 ? { ...q, body: `${q.body}&` } : { ...q, body: b };
  },
  "signature bit flip": (q, r) => {
    let s = q.signature as string;
    while (s === q.signature) s = flipChar(q.signature as string, r);
    return { ...q, signature: s };
  },
  "signature hex uppercased or prefix changed": (q, r) => ({
    ...q,
    signature: r.pick([
      (q.signature as string).toUpperCase(),
      `v1=${(q.signature as string).slice(3)}`,
      (q.signature as string).slice(3),
    ]),
  }),
  "header dropped": (q, r) => {
    const which = r.int(3);
    return {
      ...q,
      signature: which !== 1 ? undefined : q.signature,
      timestamp: which !== 0 ? undefined : q.timestamp,
    };
  },
  "timestamp shifted, not re-signed": (q, r) => ({
    ...q,
    timestamp: String(Math.max(0, Number(q.timestamp) + shift(r))),
  }),
  "timestamp shifted, re-signed with another secret": (q, r) => {
    const timestamp = String(Math.max(0, Number(q.timestamp) + shift(r)));
    return { ...q, timestamp, signature: slackSignature(r.pick(OTHERS), timestamp, q.body) };
  },
  "replayed with another body": (q, r) => {
    let body = r.pick(BODIES);
    if (body === q.body) body = body.replace("U0", "U1");
    return { ...q, body };
  },
  "replayed with another user": (q, r) => ({
    ...q,
    body: String(q.body).replace(/U0[A-Z]+/, r.pick(["U0EVE", "U0MALLORY", "W0ADMIN"])),
  }),
  "replayed late": (q, r) => ({ ...q, now: q.now + (301 + r.int(10_000_000)) * 1000 }),
  "signed by another workspace's secret": (q, r) => ({
    ...q,
    signature: slackSignature(r.pick(OTHERS), q.timestamp as string, q.body),
  }),
  "signed by a retired secret": (q) => ({
    ...q,
    signature: slackSignature(RETIRED, q.timestamp as string, q.body),
  }),
  "body truncated or extended": (q, r) => {
    const b = String(q.body);
    return {
      ...q,
      body: r.pick([
        b.slice(0, r.int(b.length)),
        `${b}&payload=${encodeURIComponent("{}")}`,
        `${b}+`,
        `x=1&${b}`,
        b.includes("+") ? b.replaceAll("+", "%20") : `${b}%20`,
      ]),
    };
  },
  "signature of the same body at another time": (q, r) => ({
    ...q,
    signature: slackSignature(SECRET, String(Number(q.timestamp) + shift(r)), q.body),
  }),
};

const same = (a: Request, b: Request) =>
  Buffer.from(a.body).equals(Buffer.from(b.body)) &&
  a.signature === b.signature &&
  a.timestamp === b.timestamp &&
  a.now === b.now;

const verdict = (q: Request) => {
  const v = verifySlackSignature({
    signingSecret: SECRET,
    previousSigningSecret: PREVIOUS,
    body: q.body,
    signature: q.signature,
    timestamp: q.timestamp,
    now: q.now,
  });
  // The parser must not throw on anything that arrives, verified or not.
  const parsed = parseInteraction(typeof q.body === "string" ? q.body : Buffer.from(q.body).toString("utf8"));
  return { v, accepted: v.ok && parsed.ok && ("action" in parsed || "retry" in parsed) };
};

describe("Slack interaction fuzz", () => {
  it("accepts every unmutated original (current and previous secret)", () => {
    const r = prng(SEED);
    for (let i = 0; i < 200; i++) {
      const q = original(r);
      expect(verdict(q).accepted, `seed ${SEED} original ${i}`).toBe(true);
    }
  });

  it(`accepts none of ${CASES} mutated requests`, () => {
    const r = prng(SEED + 1);
    const names = Object.keys(MUTATIONS);
    const byMutation: Record<string, number> = {};
    const byProblem: Record<string, number> = {};
    for (let i = 0; i < CASES; i++) {
      const name = names[i % names.length] as string;
      const o = original(r);
      const q = (MUTATIONS[name] as (q: Request, r: Rand) => Request)(o, r);
      expect(same(o, q), `seed ${SEED} case ${i}: ${name} did not change the request`).toBe(false);
      const { v, accepted } = verdict(q);
      expect(v.ok, `seed ${SEED} case ${i}: ${name} was accepted`).toBe(false);
      expect(accepted).toBe(false);
      byMutation[name] = (byMutation[name] ?? 0) + 1;
      if (!v.ok) byProblem[v.problem] = (byProblem[v.problem] ?? 0) + 1;
    }
    for (const name of names) expect(byMutation[name], name).toBeGreaterThanOrEqual(200);
    // Every refusal reason was exercised.
    expect(Object.keys(byProblem).sort()).toEqual([
      "future",
      "malformed",
      "mismatch",
      "missing_headers",
      "stale",
    ]);
  });
});
