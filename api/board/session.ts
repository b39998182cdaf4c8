// The board's sign-in session: the API token is exchanged once for a signed cookie, so the token itself
// never sits in the browser. The cookie carries only an expiry and an HMAC of it under a key derived
// from the token: nothing in it reveals the token, changing the token ends every session, and checks
// compare in constant time. Plus the same-origin check the sign-in and sign-out forms need.
import { createHmac } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { sameSecret } from "../auth.ts";
import type { AppEnv } from "../env.ts";

export const SESSION_COOKIE = "foreman_board";
export const SESSION_HOURS = 12;
const PATH = "/board";

const sessionKey = (token: string) => createHmac("sha256", token).update("foreman board session v1").digest();
const mac = (token: string, expires: number) =>
  createHmac("sha256", sessionKey(token)).update(`board:${expires}`).digest("base64url");

/** The cookie value for a session that ends at `now` + SESSION_HOURS. */
export function mintSession(token: string, now: Date): string {
  const expires = Math.floor(now.getTime() / 1000) + SESSION_HOURS * 3600;
  return `${expires}.${mac(token, expires)}`;
}

/** True for an unexpired session minted under `token`. */
export function validSession(token: string, value: string | undefined, now: Date): boolean {
  const m = /^(\d{1,12})\.([\w-]{43})$/.exec(value ?? "");
  if (!m?.[1] || !m[2]) return false;
  const expires = Number(m[1]);
  if (expires * 1000 <= now.getTime()) return false;
  return sameSecret(m[2], mac(token, expires));
}

/** The origin the browser sees: the request's, or FOREMAN_PUBLIC_URL's behind a proxy. */
const origins = (c: Context<AppEnv>): string[] => {
  const list = [new URL(c.req.url).origin];
  const pub = c.get("deps").config.FOREMAN_PUBLIC_URL;
  if (pub) list.push(new URL(pub).origin);
  return list;
};

const isHttps = (c: Context<AppEnv>) =>
  origins(c).some((o) => o.startsWith("https:")) || c.req.header("x-forwarded-proto") === "https";

export function setSession(c: Context<AppEnv>, value: string): void {
  setCookie(c, SESSION_COOKIE, value, {
    path: PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c),
    maxAge: SESSION_HOURS * 3600,
  });
}

export const clearSession = (c: Context<AppEnv>): void => {
  deleteCookie(c, SESSION_COOKIE, { path: PATH, httpOnly: true, sameSite: "Strict", secure: isHttps(c) });
};

export const sessionOf = (c: Context<AppEnv>): string | undefined => getCookie(c, SESSION_COOKIE);

/**
 * A form POST must come from this site's own page (CSRF): its Origin must be ours; without an Origin,
 * Sec-Fetch-Site must say same-origin. Returns why it is refused, or undefined.
 */
export function crossSiteProblem(c: Context<AppEnv>): string | undefined {
  const origin = c.req.header("origin");
  if (origin) {
    if (origins(c).includes(origin)) return undefined;
    return `The form was sent from ${origin}, not from this site (${origins(c).join(" or ")}). Behind a proxy, set FOREMAN_PUBLIC_URL to the address you open.`;
  }
  if (c.req.header("sec-fetch-site") === "same-origin") return undefined;
  return "The form must be sent by a browser from this site's sign-in page (no Origin header).";
}
