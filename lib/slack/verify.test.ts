// Slack v0 signatures. The first vector is the worked example in Slack's "Verifying requests from
// Slack" page; the others were computed with the openssl CLI, and every vector is re-checked against
// openssl (when installed) and against Bolt's own `isValidSlackRequest`.
import { execFileSync } from "node:child_process";
import { isValidSlackRequest } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { MAX_AGE_S, MAX_FUTURE_SKEW_S, slackSignature, verifySlackSignature } from "./verify.ts";

interface Vector {
  name: string;
  secret: string;
  timestamp: string;
  body: string;
  signature: string;
}

const VECTORS: Vector[] = [
  {
    name: "Slack's documented example (a slash command)",
    secret: "8f742231b10e8888abcd99yyyzzz85a5",
    timestamp: "1531420618",
    body: "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
    signature: "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
  },
  {
    name: "a form-encoded block_actions payload (+ for spaces)",
    secret: "0123456789abcdef0123456789abcdef",
    timestamp: "1760000000",
    body: "payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%2C%22text%22%3A%22Looks+good%22%7D",
    signature: "v0=1bcb5e6d691b05db5f110a894bd20a8693de8a551fc155519fc3b00838b220c1",
  },
  {
    name: "UTF-8 in the secret and the body, and an empty body",
    secret: "clé secrète ✓",
    timestamp: "1700000000",
    body: "",
    signature: "v0=b13c3286ea370b5796abe2a078c61f905e3b51ab0fdde23a84a082627908462e",
  },
];

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const openssl = (secret: string, source: string): string =>
  `v0=${execFileSync("sh", ["-c", 'openssl dgst -sha256 -hmac "$KEY" -r | cut -d" " -f1'], {
    input: source,
    env: { ...process.env, KEY: secret },
  })
    .toString()
    .trim()}`;

describe("v0 vectors", () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      expect(slackSignature(v.secret, v.timestamp, v.body)).toBe(v.signature);
      expect(slackSignature(v.secret, v.timestamp, Buffer.from(v.body))).toBe(v.signature);
      const now = Number(v.timestamp) * 1000 + 1500;
      const input = { signingSecret: v.secret, body: v.body, signature: v.signature, timestamp: v.timestamp };
      expect(verifySlackSignature({ ...input, now })).toEqual({ ok: true, secret: "current" });
      expect(
        isValidSlackRequest({
          signingSecret: v.secret,
          body: v.body,
          headers: { "x-slack-signature": v.signature, "x-slack-request-timestamp": Number(v.timestamp) },
          nowMilliseconds: now,
        }),
      ).toBe(true);
    });
  }
  it.runIf(hasOpenssl)("match the openssl CLI", () => {
    for (const v of VECTORS) expect(openssl(v.secret, `v0:${v.timestamp}:${v.body}`)).toBe(v.signature);
  });
});

describe("verifySlackSignature", () => {
  const secret = "signing-secret-0123456789abcdef";
  const previous = "old-signing-secret-fedcba9876543210";
  const body = "payload=%7B%22type%22%3A%22block_actions%22%7D";
  const now = 1_760_000_000_000;
  const ts = String(now / 1000 - 2);
  const good = slackSignature(secret, ts, body);
  type Input = Parameters<typeof verifySlackSignature>[0];
  const verify = (over: Partial<Input> = {}) =>
    verifySlackSignature({ signingSecret: secret, body, signature: good, timestamp: ts, now, ...over });
  const problem = (over: Partial<Input>) => {
    const r = verify(over);
    return r.ok ? `ok:${r.secret}` : r.problem;
  };
  const reason = (over: Partial<Input>) => {
    const r = verify(over);
    return r.ok ? "" : r.reason;
  };

  it("accepts the genuine request, as text or as bytes", () => {
    expect(verify()).toEqual({ ok: true, secret: "current" });
    expect(problem({ body: new TextEncoder().encode(body) })).toBe("ok:current");
  });

  it("refuses requests without headers, naming what is missing", () => {
    expect(problem({ signature: undefined })).toBe("missing_headers");
    expect(problem({ signature: "" })).toBe("missing_headers");
    expect(problem({ timestamp: null })).toBe("missing_headers");
    expect(reason({ signature: null, timestamp: undefined })).toContain(
      "X-Slack-Signature and X-Slack-Request-Timestamp missing",
    );
    expect(reason({ timestamp: "" })).toContain("X-Slack-Request-Timestamp missing");
  });

  it("refuses a malformed timestamp or signature before computing anything", () => {
    for (const t of [
      "abc",
      "1.7e9",
      "-1760000000",
      " 1760000000",
      "1760000000 ",
      "0x68e2a",
      "1234567890123",
    ]) {
      expect(problem({ timestamp: t }), t).toBe("malformed");
    }
    const hex = good.slice(3);
    for (const s of [
      hex,
      `v1=${hex}`,
      `V0=${hex}`,
      `v0=${hex.toUpperCase()}`,
      `v0=${hex.slice(1)}`,
      `v0=${hex}0`,
      `v0=${hex.slice(0, -1)}g`,
      `v0= ${hex}`,
      `${good},${good}`,
      `v0=${Buffer.from(hex, "hex").toString("base64")}`,
    ]) {
      expect(problem({ signature: s }), s).toBe("malformed");
    }
    expect(reason({ signature: "v0=xyz" })).toMatch(/64 lowercase hex/);
  });

  it("refuses a stale timestamp and one too far in the future; inside the window the HMAC decides", () => {
    const at = (t: number) => String(now / 1000 + t);
    const signedAt = (t: number) => ({ timestamp: at(t), signature: slackSignature(secret, at(t), body) });
    expect(problem(signedAt(-MAX_AGE_S))).toBe("ok:current");
    expect(problem(signedAt(-MAX_AGE_S - 1))).toBe("stale");
    expect(problem(signedAt(-86_400))).toBe("stale");
    expect(problem({ timestamp: "0", signature: slackSignature(secret, "0", body) })).toBe("stale");
    expect(problem(signedAt(MAX_FUTURE_SKEW_S))).toBe("ok:current");
    expect(problem(signedAt(MAX_FUTURE_SKEW_S + 1))).toBe("future");
    expect(problem(signedAt(3600))).toBe("future");
    expect(reason(signedAt(-400))).toBe("The request timestamp is 400 s old; at most 300 s is accepted.");
    expect(reason(signedAt(120))).toMatch(/120 s in the future; at most 60 s/);
    // Moving the timestamp without re-signing: in the window it is a mismatch.
    expect(problem({ timestamp: at(-100) })).toBe("mismatch");
    expect(problem({ timestamp: at(30) })).toBe("mismatch");
    // The window is configurable.
    expect(problem({ ...signedAt(-100), maxAgeS: 60 })).toBe("stale");
    expect(problem({ ...signedAt(30), maxFutureSkewS: 10 })).toBe("future");
  });

  it("the same captured request is refused once it is older than the window (a late replay)", () => {
    expect(problem({ now: now + (MAX_AGE_S - 2) * 1000 })).toBe("ok:current");
    expect(problem({ now: now + (MAX_AGE_S + 1) * 1000 })).toBe("stale");
  });

  it("refuses a tampered body, another body's signature, or another workspace's secret", () => {
    expect(problem({ body: `${body}x` })).toBe("mismatch");
    expect(problem({ body: body.replace("block", "Block") })).toBe("mismatch");
    expect(problem({ body: body.replaceAll("%22", '"') })).toBe("mismatch"); // decoded is not raw
    expect(problem({ signature: slackSignature(secret, ts, "payload=%7B%7D") })).toBe("mismatch");
    expect(problem({ signature: slackSignature("another-workspace-secret-000000", ts, body) })).toBe(
      "mismatch",
    );
    expect(reason({ body: "" })).toMatch(/does not match/);
  });

  it("hashes the raw bytes: a body that is not valid UTF-8 verifies as sent and not as decoded", () => {
    const bytes = Buffer.concat([Buffer.from("payload="), Buffer.from([0xff, 0xfe, 0x25])]);
    const sig = slackSignature(secret, ts, bytes);
    expect(problem({ body: bytes, signature: sig })).toBe("ok:current");
    expect(problem({ body: new TextDecoder().decode(bytes), signature: sig })).toBe("mismatch");
  });

  it("accepts the previous secret during rotation, and says which secret matched", () => {
    const old = slackSignature(previous, ts, body);
    expect(problem({ signature: old })).toBe("mismatch");
    expect(problem({ signature: old, previousSigningSecret: previous })).toBe("ok:previous");
    expect(problem({ previousSigningSecret: previous })).toBe("ok:current");
    expect(problem({ previousSigningSecret: "" })).toBe("ok:current");
    expect(problem({ signature: old, previousSigningSecret: "" })).toBe("mismatch");
    expect(
      problem({
        signature: slackSignature("third-secret-xxxxxxxxxxxxxxxx", ts, body),
        previousSigningSecret: previous,
      }),
    ).toBe("mismatch");
  });

  it("an empty signing secret is a configuration error, never a pass", () => {
    expect(() => verify({ signingSecret: "", signature: slackSignature("", ts, body) })).toThrow(/empty/);
  });

  it("agrees with Bolt's isValidSlackRequest on past timestamps (Bolt has no future bound)", () => {
    const cases: Array<Partial<Input>> = [
      {},
      { body: `${body} ` },
      {
        timestamp: String(now / 1000 - 301),
        signature: slackSignature(secret, String(now / 1000 - 301), body),
      },
      { signature: slackSignature("x".repeat(32), ts, body) },
    ];
    for (const c of cases) {
      const input = { signingSecret: secret, body, signature: good, timestamp: ts, now, ...c };
      const bolt = isValidSlackRequest({
        signingSecret: input.signingSecret,
        body: String(input.body),
        headers: {
          "x-slack-signature": String(input.signature),
          "x-slack-request-timestamp": Number(input.timestamp),
        },
        nowMilliseconds: now,
      });
      expect(verifySlackSignature(input).ok).toBe(bolt);
    }
  });
});
