// Stamp link tokens. The vector is built without link.ts: the payload segment by hand and the MAC by
// the openssl CLI (when installed), so the format is pinned independently of the implementation.
import { execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createStampLink, STAMP_LINK_TTL_S, type StampLinkPayload, verifyStampToken } from "./link.ts";

const KEY = "stamp-link-key-0123456789abcdef0123";
const PREVIOUS = "previous-stamp-link-key-fedcba98765";
const TASK = "task_01jz8k3m4n5p6q7r8s9t0v1w2x";
const HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const NOW = 1_760_000_000_000;

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");
/** Signs any payload object the way the format says (used to build tokens link.ts would not mint). */
const sign = (key: string, payload: unknown) => {
  const segment = b64url(JSON.stringify(payload));
  return `${segment}.${b64url(createHmac("sha256", key).update(segment).digest())}`;
};

const VECTOR_PAYLOAD: StampLinkPayload = {
  v: 1,
  tid: "AAECAwQFBgcICQoLDA0ODw",
  task: TASK,
  stage: "client",
  hash: HASH,
  exp: 1_761_209_600,
  nonce: "8PHy8_T19vf4-fr7_P3-_w",
};
const VECTOR_SEGMENT =
  "eyJ2IjoxLCJ0aWQiOiJBQUVDQXdRRkJnY0lDUW9MREEwT0R3IiwidGFzayI6InRhc2tfMDFqejhrM200bjVwNnE3cjhzOXQwdjF3MngiLCJzdGFnZSI6ImNsaWVudCIsImhhc2giOiI5Zjg2ZDA4MTg4NGM3ZDY1OWEyZmVhYTBjNTVhZDAxNWEzYmY0ZjFiMmIwYjgyMmNkMTVkNmMxNWIwZjAwYTA4IiwiZXhwIjoxNzYxMjA5NjAwLCJub25jZSI6IjhQSHk4X1QxOXZmNC1mcjdfUDMtX3cifQ";
const VECTOR_MAC = "_H08yw9KCMY24QcaCHQjJ4zSfl4kr2qAnlxuZe8eIk0";

describe("the token format", () => {
  it("payload segment is base64url of the JSON, no padding", () => {
    expect(b64url(JSON.stringify(VECTOR_PAYLOAD))).toBe(VECTOR_SEGMENT);
  });

  it.runIf(hasOpenssl)("the MAC is HMAC-SHA256 over the payload segment (openssl)", () => {
    const mac = execFileSync(
      "sh",
      ["-c", `openssl dgst -sha256 -hmac "$KEY" -binary | openssl base64 -A | tr '+/' '-_' | tr -d '='`],
      { input: VECTOR_SEGMENT, env: { ...process.env, KEY } },
    )
      .toString()
      .trim();
    expect(mac).toBe(VECTOR_MAC);
  });

  it("a token built independently verifies, with the payload and key it names", () => {
    const token = `${VECTOR_SEGMENT}.${VECTOR_MAC}`;
    expect(verifyStampToken({ token, key: KEY, now: NOW })).toEqual({
      ok: true,
      payload: VECTOR_PAYLOAD,
      key: "current",
    });
  });
});

describe("createStampLink", () => {
  it("mints a token for the task and version, expiring in 14 days by default, with random ids", () => {
    const link = createStampLink({ key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW });
    expect(link.payload).toMatchObject({ v: 1, task: TASK, stage: "client", hash: HASH });
    expect(link.payload.exp).toBe(NOW / 1000 + STAMP_LINK_TTL_S);
    expect(link.expiresAt.toISOString()).toBe(new Date(NOW + 14 * 86_400_000).toISOString());
    expect(link.tokenId).toBe(link.payload.tid);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const other = createStampLink({ key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW });
    expect(other.tokenId).not.toBe(link.tokenId);
    expect(other.payload.nonce).not.toBe(link.payload.nonce);
    expect(other.token).not.toBe(link.token);
    expect(
      createStampLink({ key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW, ttlS: 60 }).payload.exp,
    ).toBe(NOW / 1000 + 60);
  });

  it("refuses a short key, a bad lifetime, or a reference that is not a task and a hash", () => {
    const base = { key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW };
    expect(() => createStampLink({ ...base, key: "short" })).toThrow(/at least 32 bytes/);
    expect(() => createStampLink({ ...base, ttlS: 0 })).toThrow(/positive/);
    expect(() => createStampLink({ ...base, ttlS: 1.5 })).toThrow(/positive/);
    expect(() => createStampLink({ ...base, taskId: "proj_01jz8k3m4n5p6q7r8s9t0v1w2x" })).toThrow();
    expect(() => createStampLink({ ...base, deliverableHash: "abc" })).toThrow();
  });
});

describe("verifyStampToken", () => {
  const link = createStampLink({ key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW });
  type Input = Parameters<typeof verifyStampToken>[0];
  const check = (over: Partial<Input> = {}) =>
    verifyStampToken({ token: link.token, key: KEY, now: NOW, ...over });
  const problem = (over: Partial<Input>) => {
    const r = check(over);
    return r.ok ? `ok:${r.key}` : r.problem;
  };
  const [segment, mac] = link.token.split(".") as [string, string];

  it("accepts the genuine token until it expires, exposing the token id for single use", () => {
    const r = check();
    expect(r.ok && r.payload.tid).toBe(link.tokenId);
    expect(problem({ now: link.payload.exp * 1000 - 1 })).toBe("ok:current");
    expect(problem({ now: link.payload.exp * 1000 })).toBe("expired");
    const late = check({ now: NOW + 15 * 86_400_000 });
    expect(late.ok ? "" : late.reason).toBe(
      `This link expired at ${link.expiresAt.toISOString()}; ask for a new one.`,
    );
  });

  it("accepts a token signed with the previous key during rotation, and says so", () => {
    const old = createStampLink({ key: PREVIOUS, taskId: TASK, deliverableHash: HASH, now: NOW });
    expect(problem({ token: old.token })).toBe("bad_signature");
    expect(problem({ token: old.token, previousKey: PREVIOUS })).toBe("ok:previous");
    expect(problem({ previousKey: PREVIOUS })).toBe("ok:current");
    expect(problem({ token: old.token, key: PREVIOUS, previousKey: KEY })).toBe("ok:current");
    expect(() => check({ previousKey: "short" })).toThrow(/at least 32 bytes/);
    expect(() => check({ key: "" })).toThrow(/at least 32 bytes/);
  });

  it("refuses a token signed with another key", () => {
    const r = check({ key: "another-deployment-key-000000000000" });
    expect(r.ok ? "" : r.problem).toBe("bad_signature");
    expect(r.ok ? "" : r.reason).toBe("This link has been altered or was not issued by us.");
  });

  it("refuses a tampered payload: another task, another version, a later expiry", () => {
    const swap = (p: Partial<StampLinkPayload>) =>
      `${b64url(JSON.stringify({ ...link.payload, ...p }))}.${mac}`;
    expect(problem({ token: swap({ task: "task_01jz8k3m4n5p6q7r8s9t0v1w2y" }) })).toBe("bad_signature");
    expect(problem({ token: swap({ hash: "0".repeat(64) }) })).toBe("bad_signature");
    expect(problem({ token: swap({ exp: link.payload.exp + 86_400 }) })).toBe("bad_signature");
    // Another token's MAC on this payload, and this MAC on another token's payload.
    const other = createStampLink({ key: KEY, taskId: TASK, deliverableHash: HASH, now: NOW });
    expect(problem({ token: `${segment}.${other.token.split(".")[1]}` })).toBe("bad_signature");
    expect(problem({ token: `${other.token.split(".")[0]}.${mac}` })).toBe("bad_signature");
  });

  it("refuses truncated tokens", () => {
    for (const n of [1, 10, 42])
      expect(problem({ token: `${segment}.${mac.slice(0, n)}` }), String(n)).toBe("truncated");
    expect(problem({ token: `${segment}.` })).toBe("truncated");
    const r = check({ token: link.token.slice(0, -5) });
    expect(r.ok ? "" : r.reason).toMatch(/incomplete/);
    // Cut inside the payload: no separator left.
    expect(problem({ token: segment.slice(0, 30) })).toBe("malformed");
  });

  it("refuses malformed tokens", () => {
    for (const token of [
      "",
      ".",
      segment,
      `.${mac}`,
      `${segment}.${mac}.${mac}`,
      `${segment}.${mac}=`,
      `${segment}=.${mac}`,
      `${segment}.${mac}A`,
      `${segment.replace(/[A-Za-z]/, "+")}.${mac}`,
      `${segment} .${mac}`,
      `${segment}.${Buffer.from(mac, "base64url").toString("base64")}`,
      `${segment}.${mac.slice(0, 42)}_`, // non-canonical: the last character's spare bits are set
      "x".repeat(2000),
    ]) {
      expect(problem({ token }), token).toBe("malformed");
    }
  });

  it("a non-canonical spelling of the same payload is refused, not accepted as the same token", () => {
    // The last base64url character of the segment carries spare bits; Buffer ignores them.
    const last = segment.at(-1) as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const twin = [...alphabet].find(
      (c) =>
        c !== last &&
        Buffer.from(segment.slice(0, -1) + c, "base64url").equals(Buffer.from(segment, "base64url")),
    );
    if (twin) expect(problem({ token: `${segment.slice(0, -1)}${twin}.${mac}` })).toBe("malformed");
  });

  it("refuses well-signed payloads that are not stamp links (so a key leak elsewhere is contained)", () => {
    const base = { ...link.payload } as Record<string, unknown>;
    const cases: Array<[unknown, string]> = [
      [{ ...base, v: 2 }, "unsupported_version"],
      [{ ...base, stage: "internal" }, "malformed"],
      [{ ...base, extra: true }, "malformed"],
      [{ ...base, exp: "1761209600" }, "malformed"],
      [{ ...base, tid: "short" }, "malformed"],
      [{ ...base, nonce: undefined }, "malformed"],
      [[base], "malformed"],
      ["a string", "malformed"],
      [null, "malformed"],
    ];
    for (const [payload, want] of cases) {
      expect(problem({ token: sign(KEY, payload) }), JSON.stringify(payload)).toBe(want);
    }
    const notJson = `${b64url("{not json")}.${b64url(createHmac("sha256", KEY).update(b64url("{not json")).digest())}`;
    expect(problem({ token: notJson })).toBe("malformed");
    expect(problem({ token: sign(KEY, link.payload) })).toBe("ok:current");
  });
});
