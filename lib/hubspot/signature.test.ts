// Signature v3. HubSpot's docs give worked examples only for v1 and v2 (hex SHA-256), none for v3, so
// the v3 vectors below were computed with a different implementation — the openssl CLI — and each is
// re-checked against openssl (when installed) and against HubSpot's own SDK helper
// (`Signature.getSignature`, which hashes the same string but skips the URI decoding step).
import { execFileSync } from "node:child_process";
import { Signature } from "@hubspot/api-client";
import { describe, expect, it } from "vitest";
import { decodeSignedEscapes, MAX_AGE_MS, signatureV3, signedUri, verifySignatureV3 } from "./signature.ts";

const DOC_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"; // the client secret of HubSpot's examples

interface Vector {
  name: string;
  secret: string;
  method: string;
  /** The URI as received; `signed` is what is hashed. */
  received: string;
  signed: string;
  body: string;
  timestamp: string;
  signature: string;
}

const VECTORS: Vector[] = [
  {
    name: "HubSpot's example request (v2 docs), signed v3",
    secret: DOC_SECRET,
    method: "POST",
    received: "https://www.example.com/webhook_uri",
    signed: "https://www.example.com/webhook_uri",
    body: '{"example_field":"example_value"}',
    timestamp: "1564113600000",
    signature: "eT0ip2TKVpsIi1vb5C2Uu42eNdHL+oTE3NRZOF67O2U=",
  },
  {
    name: "all twelve escapes decoded, %20 and %253A kept, a 64-bit id in the body",
    secret: DOC_SECRET,
    method: "POST",
    received:
      "https://foreman.example.com/webhooks/hubspot?from=a%3Ab%2Fc&redirect=%40x%21%24%27%28%29%2A%2C%3B&keep=%20%253A",
    signed: "https://foreman.example.com/webhooks/hubspot?from=a:b/c&redirect=@x!$'()*,;&keep=%20%253A",
    body: '[{"eventId":1,"objectId":18446744073709551615}]',
    timestamp: "1700000000123",
    signature: "ikVfDbIwjGdnV10cDWY2w3w3k0b1M9GJ64oAynPnY7c=",
  },
  {
    name: "UTF-8 in the secret and the body",
    secret: "clé secrète",
    method: "POST",
    received: "http://127.0.0.1:8787/webhooks/hubspot",
    signed: "http://127.0.0.1:8787/webhooks/hubspot",
    body: '[{"subject":"Café ✓"}]',
    timestamp: "1700000000000",
    signature: "8fD8+mpuwE1KfqGDX4fzeeIwAKu1062a/4spT/pTi40=",
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
  execFileSync("sh", ["-c", 'openssl dgst -sha256 -hmac "$KEY" -binary | openssl base64 -A'], {
    input: source,
    env: { ...process.env, KEY: secret },
  }).toString();

describe("v3 vectors", () => {
  for (const v of VECTORS) {
    it(v.name, () => {
      expect(signedUri(v.received)).toBe(v.signed);
      expect(signatureV3(v.secret, v.method, v.signed, v.body, v.timestamp)).toBe(v.signature);
      // HubSpot's SDK hashes method + url + body + timestamp the same way (given the decoded URL).
      expect(
        Signature.getSignature(v.method, "v3", {
          clientSecret: v.secret,
          requestBody: v.body,
          url: v.signed,
          timestamp: Number(v.timestamp),
        } as Parameters<typeof Signature.getSignature>[2]),
      ).toBe(v.signature);
      const now = Number(v.timestamp) + 1000;
      const check = verifySignatureV3({
        secret: v.secret,
        method: v.method,
        uri: signedUri(v.received),
        body: Buffer.from(v.body),
        signature: v.signature,
        timestamp: v.timestamp,
        now,
      });
      expect(check).toEqual({ ok: true });
    });
  }

  it.runIf(hasOpenssl)("match the openssl CLI", () => {
    for (const v of VECTORS) {
      expect(openssl(v.secret, `${v.method}${v.signed}${v.body}${v.timestamp}`)).toBe(v.signature);
    }
  });
});

describe("verifySignatureV3", () => {
  const secret = "app-secret-0123456789";
  const url = "https://foreman.example.com/webhooks/hubspot?a=1&b=2";
  const body = '[{"eventId":42,"objectId":5000000001,"subscriptionType":"ticket.creation"}]';
  const now = 1_760_000_000_000;
  const ts = String(now - 2000);
  const good = signatureV3(secret, "POST", signedUri(url), body, ts);
  const verify = (over: Partial<Parameters<typeof verifySignatureV3>[0]> = {}) =>
    verifySignatureV3({
      secret,
      method: "POST",
      uri: signedUri(url),
      body,
      signature: good,
      timestamp: ts,
      now,
      ...over,
    });
  const problem = (over: Partial<Parameters<typeof verifySignatureV3>[0]>) => {
    const r = verify(over);
    return r.ok ? "ok" : r.problem;
  };

  it("accepts the genuine request", () => {
    expect(verify()).toEqual({ ok: true });
  });

  it("refuses a forged signature (another secret, or garbage)", () => {
    const forged = signatureV3("not-the-secret", "POST", signedUri(url), body, ts);
    expect(problem({ signature: forged })).toBe("mismatch");
    expect(problem({ signature: "AAAA" })).toBe("mismatch");
    expect(problem({ signature: `${good}=` })).toBe("mismatch");
    const r = verify({ signature: forged });
    expect(r.ok ? "" : r.reason).toMatch(/does not match/);
  });

  it("refuses a stale timestamp, and one too far in the future", () => {
    expect(problem({ timestamp: String(now - MAX_AGE_MS - 1) })).toBe("stale");
    expect(problem({ timestamp: String(now - 6 * 60_000) })).toBe("stale");
    expect(problem({ timestamp: String(now + 2 * 60_000) })).toBe("future");
    const r = verify({ timestamp: String(now + 2 * 60_000) });
    expect(r.ok ? "" : r.reason).toMatch(/120 s in the future/);
    // Inside the window the signature decides (it is over the original timestamp, so it mismatches).
    expect(problem({ timestamp: String(now - MAX_AGE_MS) })).toBe("mismatch");
    expect(problem({ timestamp: String(now + 30_000) })).toBe("mismatch");
    // A request signed 30 s "ahead" (HubSpot's clock is fast) is still accepted.
    const ahead = String(now + 30_000);
    expect(
      problem({ timestamp: ahead, signature: signatureV3(secret, "POST", signedUri(url), body, ahead) }),
    ).toBe("ok");
  });

  it("refuses a tampered body, URL, method or query order", () => {
    expect(problem({ body: body.replace("5000000001", "5000000002") })).toBe("mismatch");
    expect(problem({ body: `${body} ` })).toBe("mismatch");
    expect(problem({ uri: signedUri("https://foreman.example.com/webhooks/hubspot?a=1&b=3") })).toBe(
      "mismatch",
    );
    expect(problem({ uri: signedUri("https://evil.example.com/webhooks/hubspot?a=1&b=2") })).toBe("mismatch");
    expect(problem({ uri: signedUri("http://foreman.example.com/webhooks/hubspot?a=1&b=2") })).toBe(
      "mismatch",
    );
    expect(problem({ uri: signedUri("https://foreman.example.com/webhooks/hubspot?b=2&a=1") })).toBe(
      "mismatch",
    );
    expect(problem({ method: "PUT" })).toBe("mismatch");
  });

  it("hashes the raw bytes: a body that is not valid UTF-8 verifies as sent and not as decoded", () => {
    const bytes = Buffer.concat([
      Buffer.from('[{"subject":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}]'),
    ]);
    const sig = signatureV3(secret, "POST", signedUri(url), bytes, ts);
    expect(problem({ body: bytes, signature: sig })).toBe("ok");
    expect(problem({ body: new TextDecoder().decode(bytes), signature: sig })).toBe("mismatch");
  });

  it("refuses header-less requests, naming what is missing", () => {
    const none = verify({ signature: undefined, timestamp: null });
    expect(none.ok ? "" : none.problem).toBe("missing_headers");
    expect(none.ok ? "" : none.reason).toContain("X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp");
    expect(problem({ signature: "" })).toBe("missing_headers");
    const noTs = verify({ timestamp: undefined });
    expect(noTs.ok ? "" : noTs.reason).toContain("X-HubSpot-Request-Timestamp missing");
  });

  it("refuses a timestamp that is not milliseconds", () => {
    for (const t of ["abc", "1.5e12", "-1", " 1760000000000", "17600000000000000000"]) {
      expect(problem({ timestamp: t })).toBe("invalid_timestamp");
    }
  });
});

describe("the signed URI", () => {
  it("decodes exactly the twelve escapes, once, in either hex case", () => {
    expect(decodeSignedEscapes("%3A%2F%3F%40%21%24%27%28%29%2A%2C%3B")).toBe(":/?@!$'()*,;");
    expect(decodeSignedEscapes("%3a%2f%3f%2a%2c%3b")).toBe(":/?*,;");
    for (const kept of ["%20", "%26", "%3D", "%2B", "%23", "%25", "%5B", "%7E", "%E2%9C%93", "%253A"]) {
      expect(decodeSignedEscapes(`x${kept}y`)).toBe(`x${kept}y`);
    }
  });

  it("a decoded escape vs not: HubSpot signs the decoded form, so a signature over the raw one fails", () => {
    const secret = "s3cret-s3cret";
    const received = "https://foreman.example.com/webhooks/hubspot?next=%2Fboard%3Fstate%3Dready";
    const ts = "1760000000000";
    const now = 1_760_000_001_000;
    const asHubSpot = signatureV3(
      secret,
      "POST",
      "https://foreman.example.com/webhooks/hubspot?next=/board?state%3Dready",
      "[]",
      ts,
    );
    const overRaw = signatureV3(secret, "POST", received, "[]", ts);
    const check = (signature: string, uri: string) =>
      verifySignatureV3({ secret, method: "POST", uri, body: "[]", signature, timestamp: ts, now }).ok;
    expect(check(asHubSpot, signedUri(received))).toBe(true);
    expect(check(overRaw, signedUri(received))).toBe(false);
    // A request re-encoded on the way (%2F sent as %252F) is not the request HubSpot signed.
    expect(check(asHubSpot, signedUri(received.replace("%2F", "%252F")))).toBe(false);
  });

  it("takes the public origin from FOREMAN_PUBLIC_URL, keeping path and query as received", () => {
    const inside = "http://10.0.0.7:8787/webhooks/hubspot?x=%3A1&y=2";
    expect(signedUri(inside)).toBe("http://10.0.0.7:8787/webhooks/hubspot?x=:1&y=2");
    expect(signedUri(inside, "https://foreman.example.com")).toBe(
      "https://foreman.example.com/webhooks/hubspot?x=:1&y=2",
    );
    expect(signedUri(inside, "https://foreman.example.com/")).toBe(
      "https://foreman.example.com/webhooks/hubspot?x=:1&y=2",
    );
    expect(signedUri(inside, "https://example.com/foreman")).toBe(
      "https://example.com/foreman/webhooks/hubspot?x=:1&y=2",
    );
  });
});
