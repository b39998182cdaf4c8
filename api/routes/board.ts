// /board — the server-rendered status board (api/board/ renders, lib/board/ reads). Signed in by
// exchanging the API token for a signed HttpOnly cookie (POST /board/login, same-origin forms only), or
// by a verified Cloudflare Access JWT when FOREMAN_ACCESS_* is set. Without either, a page sends you to
// the sign-in form; the refreshing fragment answers 401 with a sign-in link instead.
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { html } from "hono/html";
import { z } from "zod";
import { boardQuery, readBoard } from "../../lib/board/read.ts";
import { isDomainError } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { getTask } from "../../lib/tasks/read.ts";
import { sameSecret } from "../auth.ts";
import { ACCESS_HEADER, accessConfigured, verifyAccessJwt } from "../board/access.ts";
import { boardPage, type Viewer } from "../board/board-page.ts";
import { page, sendPage } from "../board/layout.ts";
import { type LoginView, loginPage } from "../board/login-page.ts";
import { boardContent } from "../board/render.ts";
import {
  clearSession,
  crossSiteProblem,
  mintSession,
  sessionOf,
  setSession,
  validSession,
} from "../board/session.ts";
import { taskNotFoundPage, taskPage } from "../board/task-page.ts";
import type { AppEnv } from "../env.ts";

type C = Context<AppEnv>;
type Seen = { ok: true; viewer: Viewer } | { ok: false; accessReason?: string };

/** Who is asking: an Access identity (when configured and its JWT verifies), else a valid session. */
async function viewerOf(c: C): Promise<Seen> {
  const deps = c.get("deps");
  const config = deps.config;
  let accessReason: string | undefined;
  const jwt = c.req.header(ACCESS_HEADER);
  if (jwt && accessConfigured(config)) {
    const check = await verifyAccessJwt(jwt, config, deps.now());
    if (check.ok) return { ok: true, viewer: { via: "access", identity: check.identity } };
    deps.logger.warn("board: Cloudflare Access JWT refused", { reason: check.reason });
    accessReason = check.reason;
  }
  const token = config.FOREMAN_API_TOKEN;
  if (token && validSession(token, sessionOf(c), deps.now())) return { ok: true, viewer: { via: "token" } };
  return accessReason ? { ok: false, accessReason } : { ok: false };
}

/**
 * Only a /board path: `next` must never send a signed-in browser to another site. Printable ASCII
 * only (a browser sends the rest percent-encoded): a control character cannot go in a Location header.
 */
const safeNext = (raw: unknown): string =>
  typeof raw === "string" &&
  raw.length <= 2048 &&
  /^\/board(?:[/?#]|$)/.test(raw) &&
  /^[\x21-\x7e]+$/.test(raw) &&
  !raw.includes("\\")
    ? raw
    : "/board";

const here = (c: C) => {
  const url = new URL(c.req.url);
  return `${url.pathname}${url.search}`;
};

const loginForm = z.object({
  token: z.string().max(1024).default(""),
  next: z.string().optional(),
});

function login(c: C, view: Omit<LoginView, "access">, status: 200 | 400 | 401 | 403 | 503, seen?: Seen) {
  const access = accessConfigured(c.get("deps").config)
    ? { reason: seen && !seen.ok ? seen.accessReason : undefined }
    : undefined;
  return sendPage(c, (nonce) => loginPage(nonce, { ...view, access }), status);
}

const queryProblem = (c: C, err: z.ZodError) =>
  sendPage(
    c,
    (nonce) =>
      page(
        nonce,
        "Error: board filter",
        html`<h1>That filter cannot be shown</h1><p>${err.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}</p><p><a href="/board">Show the whole board</a></p>`,
        { narrow: true },
      ),
    400,
  );

export const boardRoutes = new Hono<AppEnv>()
  .get("/login", async (c) => {
    const seen = await viewerOf(c);
    const next = safeNext(c.req.query("next"));
    if (seen.ok) return c.redirect(next, 303);
    const unconfigured = !c.get("deps").config.FOREMAN_API_TOKEN;
    return login(c, { next, unconfigured }, unconfigured ? 503 : 200, seen);
  })
  .post(
    "/login",
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.text("The sign-in form is too large.", 413) }),
    async (c) => {
      const deps = c.get("deps");
      // A cross-site form is refused before its body is read at all.
      const crossSite = crossSiteProblem(c);
      if (crossSite) return login(c, { next: "/board", error: crossSite }, 403);
      // A body that is not a form (a broken multipart boundary, say) is the sender's mistake: 400, not 500.
      const body = await c.req.parseBody().catch(() => undefined);
      if (!body) {
        return login(
          c,
          { next: "/board", error: "The sign-in form could not be read. Try signing in again." },
          400,
        );
      }
      const form = loginForm.safeParse(body);
      const next = safeNext(form.success ? form.data.next : undefined);
      const expected = deps.config.FOREMAN_API_TOKEN;
      if (!expected) return login(c, { next, unconfigured: true }, 503);
      const token = form.success ? form.data.token.trim() : "";
      if (!token)
        return login(c, { next, error: "Paste the API token into the field, then press Sign in." }, 400);
      if (!sameSecret(token, expected)) {
        deps.logger.warn("board: sign-in refused (wrong token)", { requestId: c.get("requestId") });
        return login(c, { next, error: "That is not this server's API token. Check it and try again." }, 401);
      }
      setSession(c, mintSession(expected, deps.now()));
      return c.redirect(next, 303);
    },
  )
  .post("/logout", async (c) => {
    const crossSite = crossSiteProblem(c);
    if (crossSite) return login(c, { next: "/board", error: crossSite }, 403);
    clearSession(c);
    return c.redirect("/board/login", 303);
  })
  .get("/", async (c) => {
    const seen = await viewerOf(c);
    if (!seen.ok) return c.redirect(`/board/login?next=${encodeURIComponent(here(c))}`, 303);
    const q = boardQuery.safeParse(c.req.query());
    if (!q.success) return queryProblem(c, q.error);
    const deps = c.get("deps");
    const data = await readBoard(deps, q.data, deps.now());
    return sendPage(
      c,
      (nonce) => boardPage(nonce, data, seen.viewer, q.data.refresh),
      data.unknownProject ? 404 : 200,
    );
  })
  .get("/fragment", async (c) => {
    const seen = await viewerOf(c);
    if (!seen.ok) {
      const next = `/board${new URL(c.req.url).search}`;
      return c.html(
        html`<p class="alert" role="alert">Your board session has ended. <a href="/board/login?next=${encodeURIComponent(next)}">Sign in again</a> to see the board.</p>`,
        401,
        { "cache-control": "no-store" },
      );
    }
    const q = boardQuery.safeParse(c.req.query());
    if (!q.success)
      return c.html(html`<p class="alert" role="alert">That filter cannot be shown.</p>`, 400, {
        "cache-control": "no-store",
      });
    const deps = c.get("deps");
    const data = await readBoard(deps, q.data, deps.now());
    return c.html(boardContent(data), data.unknownProject ? 404 : 200, {
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
  })
  .get("/tasks/:id", async (c) => {
    const seen = await viewerOf(c);
    if (!seen.ok) return c.redirect(`/board/login?next=${encodeURIComponent(here(c))}`, 303);
    const id = c.req.param("id");
    if (!ID_PATTERN.test(id)) return sendPage(c, (nonce) => taskNotFoundPage(nonce, id), 404);
    try {
      const found = await getTask(c.get("deps").db, id, { events_limit: 100 });
      return sendPage(c, (nonce) => taskPage(nonce, found));
    } catch (err) {
      if (isDomainError(err) && err.code === "NOT_FOUND")
        return sendPage(c, (nonce) => taskNotFoundPage(nonce, id), 404);
      throw err;
    }
  })
  // People type /board/; anything else under /board is a page, not the API's JSON 404.
  .all("/*", (c) => {
    if (c.req.path === "/board/" && c.req.method === "GET") return c.redirect("/board", 301);
    return sendPage(
      c,
      (nonce) =>
        page(
          nonce,
          "Not found",
          html`<h1>Not found</h1><p>The board has no page at ${c.req.path}.</p><p><a href="/board">Open the board</a></p>`,
          { narrow: true },
        ),
      404,
    );
  });
