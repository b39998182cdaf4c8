// Who may see /board: without a session every page sends you to the sign-in form (the fragment says
// 401 with a link); the right token sets an HttpOnly, SameSite=Strict cookie (Secure over https) that
// does not contain the token; a wrong token shows the form again with the reason; forms from another
// origin are refused; tampered, expired and other-token sessions are not sessions; sign-out clears
// the cookie; `next` never leaves the board. And a Cloudflare Access JWT, verified against the team's
// certs (a fake here), for the audience, unexpired, at the allowed email domain.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintSession } from "../../api/board/session.ts";
import { loadConfig } from "../../lib/config.ts";
import { useTestDb } from "../db.ts";
import { TEST_TOKEN, testApp } from "../deps.ts";
import { type FakeServer, startFake } from "../fakes/server.ts";

const t = useTestDb();
type Api = ReturnType<typeof testApp>;

const form = (
  fields: Record<string, string>,
  headers: Record<string, string> = { origin: "http://localhost" },
) => ({
  method: "POST",
  token: null,
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
});

const signIn = (api: Api, token: string, extra: Record<string, string> = {}, url = "/board/login") =>
  api.request(url, form({ token, next: "/board", ...extra }));

const cookieOf = (res: Response) => res.headers.get("set-cookie")?.split(";")[0] ?? "";

describe("signing in", () => {
  it("sends a visitor without a session to the sign-in form, not a JSON 401", async () => {
    const api = testApp(t.current.db);
    const res = await api.request("/board?project=proj_default", { token: null });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(
      `/board/login?next=${encodeURIComponent("/board?project=proj_default")}`,
    );
    // A bearer token is for the JSON API; it is not a board session.
    expect((await api.request("/board")).status).toBe(303);
    const login = await api.request("/board/login?next=%2Fboard%3Fproject%3Dproj_default", { token: null });
    expect(login.status).toBe(200);
    const page = await login.text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('<label for="token">API token</label>');
    expect(page).toContain('<input id="token" name="token" type="password"');
    expect(page).toContain('<input type="hidden" name="next" value="/board?project=proj_default" />');
    const tasks = await api.request(`/board/tasks/task_00000000000000000000000000`, { token: null });
    expect(tasks.status).toBe(303);
    const slash = await api.request("/board/", { token: null });
    expect(slash.status).toBe(301);
    expect(slash.headers.get("location")).toBe("/board");
    const elsewhere = await api.request("/board/nowhere", { token: null });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get("content-type")).toContain("text/html");
  });

  it("exchanges the right token for a signed HttpOnly SameSite=Strict cookie without the token in it", async () => {
    const api = testApp(t.current.db);
    const res = await signIn(api, TEST_TOKEN, { next: "/board?project=proj_default" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/board?project=proj_default");
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^foreman_board=\d+\.[\w-]{43};/);
    expect(setCookie).toContain("HttpOnly");
    expect(setCookie).toContain("SameSite=Strict");
    expect(setCookie).toContain("Path=/board");
    expect(setCookie).toContain("Max-Age=43200");
    expect(setCookie).not.toContain("Secure"); // plain http: a Secure cookie would never come back
    expect(setCookie).not.toContain(TEST_TOKEN);
    expect(setCookie).not.toContain(Buffer.from(TEST_TOKEN).toString("base64url"));
    const board = await api.request("/board", { token: null, headers: { cookie: cookieOf(res) } });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain("Signed in with the API token");
    // Signed in already: the form sends you on.
    const again = await api.request("/board/login?next=%2Fboard", {
      token: null,
      headers: { cookie: cookieOf(res) },
    });
    expect(again.status).toBe(303);
  });

  it("sends a sign-in whose next holds a control character to /board, never a 500", async () => {
    const api = testApp(t.current.db);
    const res = await signIn(api, TEST_TOKEN, { next: "/board?\r\nx" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/board");
    const again = await api.request("/board/login?next=%2Fboard%0a", {
      token: null,
      headers: { cookie: cookieOf(res) },
    });
    expect(again.status).toBe(303);
    expect(again.headers.get("location")).toBe("/board");
  });

  it("marks the cookie Secure over https, and behind a proxy whose public URL is https", async () => {
    const api = testApp(t.current.db);
    const direct = await api.request(
      "https://board.example.test/board/login",
      form({ token: TEST_TOKEN }, { origin: "https://board.example.test" }),
    );
    expect(direct.status).toBe(303);
    expect(direct.headers.get("set-cookie")).toContain("Secure");
    const proxied = testApp(t.current.db, { FOREMAN_PUBLIC_URL: "https://foreman.example.test" });
    const res = await signIn(proxied, TEST_TOKEN, {}, "/board/login");
    // The browser's Origin is the public one; the request reached us as http://localhost.
    const viaProxy = await proxied.request(
      "/board/login",
      form({ token: TEST_TOKEN }, { origin: "https://foreman.example.test" }),
    );
    expect(res.status).toBe(303);
    expect(viaProxy.status).toBe(303);
    expect(viaProxy.headers.get("set-cookie")).toContain("Secure");
  });

  it("shows the form again, with the reason by the field, for a wrong or missing token", async () => {
    const api = testApp(t.current.db);
    const wrong = await signIn(api, "not-the-token-at-all");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const page = await wrong.text();
    expect(page).toContain('role="alert"');
    expect(page).toContain("That is not this server&#39;s API token.");
    expect(page).toContain('aria-invalid="true" aria-describedby="token-error" autofocus');
    expect(page).toContain("<title>Error: sign in · foreman</title>");
    const empty = await signIn(api, "   ");
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain("Paste the API token into the field");
  });

  it("answers 400 with the form, not 500, to a sign-in body that is not a readable form", async () => {
    const api = testApp(t.current.db);
    const res = await api.request("/board/login", {
      method: "POST",
      token: null,
      headers: { origin: "http://localhost", "content-type": "multipart/form-data; boundary=elsewhere" },
      body: `--nope\r\nContent-Disposition: form-data; name="token"\r\n\r\n${TEST_TOKEN}`,
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await res.text()).toContain("The sign-in form could not be read.");
  });

  it("refuses sign-in and sign-out forms from another origin, or with no Origin at all (CSRF)", async () => {
    const api = testApp(t.current.db);
    const foreign = await api.request(
      "/board/login",
      form({ token: TEST_TOKEN }, { origin: "https://evil.test" }),
    );
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("set-cookie")).toBeNull();
    expect(await foreign.text()).toContain("The form was sent from https://evil.test");
    const bare = await api.request("/board/login", form({ token: TEST_TOKEN }, {}));
    expect(bare.status).toBe(403);
    expect(bare.headers.get("set-cookie")).toBeNull();
    const crossSite = await api.request(
      "/board/login",
      form({ token: TEST_TOKEN }, { "sec-fetch-site": "cross-site" }),
    );
    expect(crossSite.status).toBe(403);
    // A browser that sends only Sec-Fetch-Site: same-origin is let through.
    const sameOrigin = await api.request(
      "/board/login",
      form({ token: TEST_TOKEN }, { "sec-fetch-site": "same-origin" }),
    );
    expect(sameOrigin.status).toBe(303);
    const cookie = cookieOf(sameOrigin);
    const logout = await api.request("/board/logout", {
      ...form({}, { origin: "https://evil.test" }),
      headers: { origin: "https://evil.test", cookie, "content-type": "application/x-www-form-urlencoded" },
    });
    expect(logout.status).toBe(403);
    expect(logout.headers.get("set-cookie")).toBeNull();
  });

  it("signs out: the cookie is cleared and the board asks for the token again", async () => {
    const api = testApp(t.current.db);
    const cookie = cookieOf(await signIn(api, TEST_TOKEN));
    const out = await api.request("/board/logout", {
      method: "POST",
      token: null,
      headers: { origin: "http://localhost", cookie },
    });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/board/login");
    const cleared = out.headers.get("set-cookie") ?? "";
    expect(cleared).toMatch(/^foreman_board=;/);
    expect(cleared).toContain("Max-Age=0");
  });

  it("takes no tampered, expired or other-token session, and the fragment says 401 with a sign-in link", async () => {
    const api = testApp(t.current.db);
    const good = cookieOf(await signIn(api, TEST_TOKEN));
    const [, value] = good.split("=");
    const [exp, mac] = (value ?? "").split(".");
    const later = `foreman_board=${Number(exp) + 3600}.${mac}`;
    const flipped = `foreman_board=${exp}.${mac?.slice(0, -1)}${mac?.endsWith("A") ? "B" : "A"}`;
    const expired = `foreman_board=${mintSession(TEST_TOKEN, new Date(Date.now() - 13 * 3600_000))}`;
    const otherToken = `foreman_board=${mintSession("another-token-0123456789", new Date())}`;
    for (const cookie of [later, flipped, expired, otherToken, "foreman_board=garbage"]) {
      const page = await api.request("/board", { token: null, headers: { cookie } });
      expect(page.status, cookie).toBe(303);
      const fragment = await api.request("/board/fragment?project=proj_default", {
        token: null,
        headers: { cookie },
      });
      expect(fragment.status, cookie).toBe(401);
      expect(await fragment.text()).toContain(
        `<a href="/board/login?next=${encodeURIComponent("/board?project=proj_default")}">Sign in again</a>`,
      );
    }
    expect((await api.request("/board", { token: null, headers: { cookie: good } })).status).toBe(200);
  });

  it("never sends a signed-in browser off the board (next is checked)", async () => {
    const api = testApp(t.current.db);
    for (const next of [
      "https://evil.test/",
      "//evil.test/board",
      "/boardroom",
      "/\\evil.test",
      "/api/tasks",
    ]) {
      const res = await signIn(api, TEST_TOKEN, { next });
      expect(res.headers.get("location"), next).toBe("/board");
    }
    const login = await api.request("/board/login?next=https%3A%2F%2Fevil.test", { token: null });
    expect(await login.text()).toContain('name="next" value="/board"');
  });
});

describe("Cloudflare Access", () => {
  let certs: FakeServer;
  let keys: CryptoKeyPair;
  let stranger: CryptoKeyPair;
  const AUD = "aud-0123456789abcdef";
  const gen = () =>
    crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );

  beforeAll(async () => {
    keys = await gen();
    stranger = await gen();
    const jwk = { ...(await crypto.subtle.exportKey("jwk", keys.publicKey)), kid: "key-1", alg: "RS256" };
    certs = await startFake((app) => {
      app.get("/cdn-cgi/access/certs", (c) => c.json({ keys: [jwk], public_cert: { kid: "key-1" } }));
    });
  });
  afterAll(async () => {
    await certs?.close();
  });

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  async function jwt(claims: Record<string, unknown>, opts: { key?: CryptoKey; kid?: string } = {}) {
    const head = b64({ alg: "RS256", kid: opts.kid ?? "key-1", typ: "JWT" });
    const now = Math.floor(Date.now() / 1000);
    const body = b64({
      iss: certs.url,
      aud: [AUD],
      email: "ana@agency.test",
      exp: now + 600,
      iat: now,
      ...claims,
    });
    const sig = await crypto.subtle.sign(
      "RSASSA-PKCS1-v1_5",
      opts.key ?? keys.privateKey,
      new TextEncoder().encode(`${head}.${body}`),
    );
    return `${head}.${body}.${Buffer.from(sig).toString("base64url")}`;
  }
  const accessApp = (extra: Record<string, string> = {}) =>
    testApp(t.current.db, { FOREMAN_ACCESS_TEAM_DOMAIN: certs.url, FOREMAN_ACCESS_AUD: AUD, ...extra });

  it("lets in a verified Access identity, with no cookie needed", async () => {
    const api = accessApp({ FOREMAN_ACCESS_EMAIL_DOMAIN: "agency.test" });
    const res = await api.request("/board", {
      token: null,
      headers: { "cf-access-jwt-assertion": await jwt({}) },
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Signed in through Cloudflare Access as ana@agency.test");
    expect(certs.callsTo("GET", "/cdn-cgi/access/certs").length).toBeGreaterThanOrEqual(1);
  });

  it("refuses a JWT for another audience, issuer or domain, an expired one, or one signed by another key", async () => {
    const api = accessApp({ FOREMAN_ACCESS_EMAIL_DOMAIN: "agency.test" });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      [await jwt({ aud: ["someone-else"] }), "the JWT is for another Access application"],
      [await jwt({ iss: "https://other.cloudflareaccess.com" }), "the JWT was issued by another team"],
      [await jwt({ email: "mallory@elsewhere.test" }), "only agency.test accounts may see the board"],
      [await jwt({ exp: now - 3600 }), "the Access session has expired"],
      [await jwt({}, { key: stranger.privateKey }), "the JWT&#39;s signature does not verify"],
      [await jwt({}, { kid: "unknown" }), "the JWT&#39;s key is not one of the team&#39;s Access keys"],
      ["not.a.jwt", "not a JWT"],
    ];
    for (const [token, reason] of cases) {
      const res = await api.request("/board", { token: null, headers: { "cf-access-jwt-assertion": token } });
      expect(res.status, reason).toBe(303);
      const login = await api.request("/board/login", {
        token: null,
        headers: { "cf-access-jwt-assertion": token },
      });
      expect(await login.text(), reason).toContain(reason);
    }
  });

  it("is configured by the team domain and the audience together, never by one of them", () => {
    expect(() =>
      loadConfig({ FOREMAN_ACCESS_TEAM_DOMAIN: "https://team.cloudflareaccess.com" }, "node"),
    ).toThrow(/FOREMAN_ACCESS_AUD: FOREMAN_ACCESS_TEAM_DOMAIN and FOREMAN_ACCESS_AUD go together/);
    expect(() => loadConfig({ FOREMAN_ACCESS_AUD: AUD }, "node")).toThrow(/go together/);
    expect(() => loadConfig({ FOREMAN_ACCESS_EMAIL_DOMAIN: "not a domain" }, "node")).toThrow(
      /FOREMAN_ACCESS_EMAIL_DOMAIN: must be a domain/,
    );
    expect(
      loadConfig(
        {
          FOREMAN_ACCESS_TEAM_DOMAIN: certs.url,
          FOREMAN_ACCESS_AUD: AUD,
          FOREMAN_ACCESS_EMAIL_DOMAIN: "Agency.TEST",
        },
        "node",
      ).FOREMAN_ACCESS_EMAIL_DOMAIN,
    ).toBe("agency.test");
  });

  it("ignores the header entirely when Access is not configured", async () => {
    const api = testApp(t.current.db);
    const res = await api.request("/board", {
      token: null,
      headers: { "cf-access-jwt-assertion": await jwt({}) },
    });
    expect(res.status).toBe(303);
  });
});
