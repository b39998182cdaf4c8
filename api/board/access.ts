// Cloudflare Access in front of the board: when FOREMAN_ACCESS_TEAM_DOMAIN and FOREMAN_ACCESS_AUD are
// set, a request carrying Access's `Cf-Access-Jwt-Assertion` is let in only if that JWT verifies —
// RS256 under a key from the team's published certs, issued by the team domain, for this application's
// audience, unexpired, and (with FOREMAN_ACCESS_EMAIL_DOMAIN) for an email at that domain. The header is
// never trusted on its face: anyone who reaches the origin directly could send one.
import { Buffer } from "node:buffer";
import type { Config } from "../../lib/config.ts";

export const ACCESS_HEADER = "cf-access-jwt-assertion";
const LEEWAY_S = 60;
const CERTS_TTL_MS = 3_600_000;
/** An unknown key id refetches the certs (Access rotates keys), but not more often than this. */
const REFETCH_MS = 30_000;

export type AccessCheck = { ok: true; identity: string } | { ok: false; reason: string };

interface CachedCerts {
  keys: Map<string, CryptoKey>;
  fetchedAt: number;
}
const certsCache = new Map<string, CachedCerts>();

const b64url = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));
const parseJson = (s: string): Record<string, unknown> | undefined => {
  try {
    const v = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

async function fetchCerts(url: string, fetchFn: typeof fetch): Promise<CachedCerts> {
  const res = await fetchFn(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`the Access certs at ${url} answered ${res.status}`);
  const body = (await res.json()) as { keys?: (JsonWebKey & { kid?: string })[] };
  const keys = new Map<string, CryptoKey>();
  for (const jwk of body.keys ?? []) {
    if (!jwk.kid || jwk.kty !== "RSA") continue;
    const key = await crypto.subtle.importKey(
      "jwk",
      jwk,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    keys.set(jwk.kid, key);
  }
  return { keys, fetchedAt: Date.now() };
}

async function keyFor(
  teamDomain: string,
  kid: string,
  fetchFn: typeof fetch,
): Promise<CryptoKey | undefined> {
  const url = `${teamDomain}/cdn-cgi/access/certs`;
  let certs = certsCache.get(url);
  const age = certs ? Date.now() - certs.fetchedAt : Number.POSITIVE_INFINITY;
  if (!certs || age > CERTS_TTL_MS || (!certs.keys.has(kid) && age > REFETCH_MS)) {
    certs = await fetchCerts(url, fetchFn);
    certsCache.set(url, certs);
  }
  return certs.keys.get(kid);
}

export type AccessConfig = Pick<
  Config,
  "FOREMAN_ACCESS_TEAM_DOMAIN" | "FOREMAN_ACCESS_AUD" | "FOREMAN_ACCESS_EMAIL_DOMAIN"
>;

export const accessConfigured = (config: AccessConfig): boolean =>
  Boolean(config.FOREMAN_ACCESS_TEAM_DOMAIN && config.FOREMAN_ACCESS_AUD);

/** Verifies an Access JWT; the identity is its email (or a service token's common name). */
export async function verifyAccessJwt(
  jwt: string,
  config: AccessConfig,
  now: Date,
  fetchFn: typeof fetch = fetch,
): Promise<AccessCheck> {
  const team = config.FOREMAN_ACCESS_TEAM_DOMAIN?.replace(/\/+$/, "");
  const aud = config.FOREMAN_ACCESS_AUD;
  if (!team || !aud) return { ok: false, reason: "Cloudflare Access is not configured on this server." };
  const parts = jwt.split(".");
  const [h, p, s] = parts;
  const header = h ? parseJson(h) : undefined;
  const claims = p ? parseJson(p) : undefined;
  if (parts.length !== 3 || !header || !claims || !s) return { ok: false, reason: "not a JWT" };
  if (header.alg !== "RS256" || typeof header.kid !== "string")
    return { ok: false, reason: "the JWT is not RS256 with a key id" };
  let key: CryptoKey | undefined;
  try {
    key = await keyFor(team, header.kid, fetchFn);
  } catch (err) {
    return { ok: false, reason: `the Access certs could not be read (${(err as Error).message})` };
  }
  if (!key) return { ok: false, reason: "the JWT's key is not one of the team's Access keys" };
  const signed = await crypto.subtle.verify(
    "RSASSA-PKCS1-v1_5",
    key,
    b64url(s),
    new TextEncoder().encode(`${h}.${p}`),
  );
  if (!signed) return { ok: false, reason: "the JWT's signature does not verify" };
  const nowS = now.getTime() / 1000;
  if (claims.iss !== new URL(team).origin) return { ok: false, reason: "the JWT was issued by another team" };
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!auds.includes(aud)) return { ok: false, reason: "the JWT is for another Access application" };
  if (typeof claims.exp !== "number" || claims.exp + LEEWAY_S <= nowS)
    return { ok: false, reason: "the Access session has expired" };
  if (typeof claims.nbf === "number" && claims.nbf - LEEWAY_S > nowS)
    return { ok: false, reason: "the JWT is not valid yet" };
  const email = typeof claims.email === "string" ? claims.email.toLowerCase() : undefined;
  const domain = config.FOREMAN_ACCESS_EMAIL_DOMAIN;
  if (domain && !email?.endsWith(`@${domain}`))
    return { ok: false, reason: `only ${domain} accounts may see the board` };
  const identity = email ?? (typeof claims.common_name === "string" ? claims.common_name : undefined);
  if (!identity) return { ok: false, reason: "the JWT names no identity" };
  return { ok: true, identity };
}
