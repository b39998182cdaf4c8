// GET /board through the app, signed in: seeded tasks in their state's column with counts, the stamps
// waiting with whom and their links, spend against the budget, failures by class, recent events; the
// project filter (select and query), the refresh fragment, the task page, escaping, and the headers.
import { describe, expect, it } from "vitest";
import { projects, tasks } from "../../db/schema/index.ts";
import { newId } from "../../lib/ids.ts";
import { seedBoard } from "../board-seed.ts";
import { useTestDb } from "../db.ts";
import { TEST_TOKEN, testApp } from "../deps.ts";
import { insertTask } from "../fixtures.ts";

const t = useTestDb();
const env = { FOREMAN_DAILY_TOKEN_BUDGET: "50000000", FOREMAN_DRY_RUN: "true" };

/** Signs in through the form and returns the Cookie header value. */
async function signIn(api: ReturnType<typeof testApp>): Promise<string> {
  const res = await api.request("/board/login", {
    method: "POST",
    token: null,
    headers: { origin: "http://localhost", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TEST_TOKEN, next: "/board" }).toString(),
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (!cookie) throw new Error("no session cookie");
  return cookie;
}

/** The HTML of one state's column. */
const columnOf = (page: string, state: string) => {
  const start = page.indexOf(`data-state="${state}"`);
  expect(start, `no column for ${state}`).toBeGreaterThan(-1);
  return page.slice(start, page.indexOf("</section>", start));
};
const countIn = (column: string) => Number(/<span class="count"[^>]*>(\d+)<\/span>/.exec(column)?.[1]);

describe("GET /board", () => {
  it("puts every seeded task in its state's column with the counts, and shows waits, spend, failures, events", async () => {
    const api = testApp(t.current.db, env);
    const seed = await seedBoard(t.current.db, { name: "Acme Rooms", now: new Date() });
    const cookie = await signIn(api);
    const res = await api.request(`/board?project=${seed.projectId}`, { token: null, headers: { cookie } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toMatch(/^<!doctype html>\s*<html lang="en">/);
    expect(page).toContain("<title>Board: Acme Rooms · foreman</title>");
    const { ids } = seed;
    const where: [string, string[], number][] = [
      ["intake", [ids.intake, ids.intakeDry], 2],
      ["ready", [ids.ready], 1],
      ["working", [ids.working], 1],
      ["awaiting_internal_review", [ids.internal], 1],
      ["awaiting_client_review", [ids.client], 1],
      ["done", [ids.done], 1],
      ["failed_needs_triage", [ids.authA, ids.authB, ids.timeout, ids.legacy], 4],
      ["blocked_external", [], 0],
      ["cancelled", [], 0],
    ];
    for (const [state, inIt, n] of where) {
      const column = columnOf(page, state);
      expect(countIn(column), state).toBe(n);
      const cards = [...column.matchAll(/data-task-id="([^"]+)"/g)].map((m) => m[1]);
      expect(cards.sort(), state).toEqual([...inIt].sort());
    }
    // A card: title link, project, worker, revisions, dry-run badge.
    const working = columnOf(page, "working");
    expect(working).toContain(`href="/board/tasks/${ids.working}"`);
    expect(working).toContain("Acme Rooms · CRM setup");
    expect(working).toContain("2 revisions");
    expect(columnOf(page, "intake")).toContain('<span class="badge dry">dry-run</span>');
    // Stamps waiting: whom, since, card channel and the client link's state (its token is not stored).
    const stamps = page.slice(page.indexOf('id="stamps-h"'), page.indexOf('id="failures-h"'));
    expect(stamps).toContain('Ana <span class="muted">Slack U0ANA</span>');
    expect(stamps).toContain(
      'Ben <span class="muted">Slack U0BEN</span> <span class="muted">(escalation)</span>',
    );
    expect(stamps).toContain("Slack card in channel C0REVIEWS");
    expect(stamps).toContain("the client, through the link");
    expect(stamps).toContain(`client link sent, expires <time datetime="${seed.linkExpires.toISOString()}">`);
    expect(stamps).toContain("unused");
    expect(stamps).toMatch(/26 h ago/);
    expect(stamps).not.toContain("Gone");
    // Failures by class with their hints; spend against the budget; the dry-run banner; the events.
    expect(page).toMatch(/data-class="auth">\s*<h3>Auth <span class="count">2<\/span>/);
    expect(page).toMatch(/data-class="rate_limit">\s*<h3>Rate limit <span class="count">1<\/span>/);
    expect(page).toContain("a key or token was refused: fix the credential, then retry");
    expect(page).toMatch(/<meter id="tokens-meter" min="0" max="50000000"/);
    expect(page).toContain("of 50,000,000");
    expect(page).toContain("Dry-run is on for every task");
    expect(page).toContain("Acme Rooms: please use the EU portal");
    // The filter: the project is selected; the fragment URL carries it.
    expect(page).toContain(`<option value="${seed.projectId}" selected>Acme Rooms</option>`);
    expect(page).toContain(`data-fragment="/board/fragment?project=${seed.projectId}"`);
  });

  it("filters by project: another project's tasks are left out, and the whole board has both", async () => {
    const api = testApp(t.current.db, env);
    const a = await seedBoard(t.current.db, { name: "Filter A", now: new Date() });
    const b = await seedBoard(t.current.db, { name: "Filter B", now: new Date() });
    const cookie = await signIn(api);
    const only = await (
      await api.request(`/board?project=${a.projectId}`, { token: null, headers: { cookie } })
    ).text();
    expect(only).toContain(`data-task-id="${a.ids.ready}"`);
    expect(only).not.toContain(`data-task-id="${b.ids.ready}"`);
    expect(only).not.toContain("Filter B: please use the EU portal");
    const all = await (await api.request("/board?project=", { token: null, headers: { cookie } })).text();
    expect(all).toContain(`data-task-id="${a.ids.ready}"`);
    expect(all).toContain(`data-task-id="${b.ids.ready}"`);
    expect(all).toContain('<option value="" selected>All projects</option>');
  });

  it("counts every stamp waiting, not only the 100 it lists, and says how many are not shown", async () => {
    const api = testApp(t.current.db, env);
    const projectId = `proj_many_${Date.now().toString(36)}`;
    await t.current.db.insert(projects).values({ id: projectId, name: "Many stamps" });
    await t.current.db.insert(tasks).values(
      Array.from({ length: 103 }, (_, i) => ({
        id: newId("task"),
        projectId,
        workerId: "crm-setup",
        title: `waiting ${i}`,
        status: i < 90 ? ("awaiting_internal_review" as const) : ("awaiting_client_review" as const),
        triagedAt: new Date(),
      })),
    );
    const cookie = await signIn(api);
    const page = await (
      await api.request(`/board?project=${projectId}`, { token: null, headers: { cookie } })
    ).text();
    const stamps = page.slice(page.indexOf('id="stamps-h"'), page.indexOf('id="failures-h"'));
    expect(countIn(stamps)).toBe(103);
    expect(stamps.match(/<tr data-task-id=/g)).toHaveLength(100);
    expect(stamps).toContain("The 100 longest waits are listed; 3 more are not shown.");
  });

  it("says so when the filter names no project (404), and refuses a bad query as a page (400)", async () => {
    const api = testApp(t.current.db, env);
    const cookie = await signIn(api);
    const unknown = await api.request("/board?project=proj_missing", { token: null, headers: { cookie } });
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("No project has the id “proj_missing”");
    const bad = await api.request("/board?refresh=1", { token: null, headers: { cookie } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toContain("text/html");
    expect(await bad.text()).toContain("refresh:");
  });

  it("serves the refreshable content alone at /board/fragment, filtered the same way", async () => {
    const api = testApp(t.current.db, env);
    const seed = await seedBoard(t.current.db, { name: "Fragment Co", now: new Date() });
    const cookie = await signIn(api);
    const res = await api.request(`/board/fragment?project=${seed.projectId}`, {
      token: null,
      headers: { cookie },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.text();
    expect(body).not.toContain("<html");
    expect(body).not.toContain("<script");
    expect(countIn(columnOf(body, "failed_needs_triage"))).toBe(4);
    // A task that arrives shows on the next fetch.
    const late = await insertTask(t.current.db, {
      projectId: seed.projectId,
      status: "ready",
      title: "Late one",
    });
    const again = await (
      await api.request(`/board/fragment?project=${seed.projectId}`, { token: null, headers: { cookie } })
    ).text();
    expect(countIn(columnOf(again, "ready"))).toBe(2);
    expect(columnOf(again, "ready")).toContain(`data-task-id="${late.id}"`);
  });

  it("escapes what tasks say and runs only its own nonce'd script", async () => {
    const api = testApp(t.current.db, env);
    const cookie = await signIn(api);
    const seed = await seedBoard(t.current.db, { name: "Escape Co", now: new Date() });
    await insertTask(t.current.db, {
      projectId: seed.projectId,
      status: "ready",
      title: `<script>alert("x")</script> & <img src=x onerror=alert(1)>`,
    });
    const res = await api.request(`/board?project=${seed.projectId}`, { token: null, headers: { cookie } });
    const page = await res.text();
    expect(page).toContain(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;",
    );
    expect(page).not.toContain("<img src=x");
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const scripts = [...page.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([` nonce="${nonce}"`]);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });
});

describe("GET /board/tasks/:id", () => {
  it("shows a card's task with its timeline, and a page for an unknown id", async () => {
    const api = testApp(t.current.db, env);
    const cookie = await signIn(api);
    const seed = await seedBoard(t.current.db, { name: "Task Page Co", now: new Date() });
    const res = await api.request(`/board/tasks/${seed.ids.internal}`, { token: null, headers: { cookie } });
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("<h1>Task Page Co: Service Hub setup</h1>");
    expect(page).toContain("Internal review");
    expect(page).toContain("Working → Internal review");
    expect(page).toContain(`GET /api/tasks/${seed.ids.internal}`);
    const missing = await api.request("/board/tasks/task_00000000000000000000000000", {
      token: null,
      headers: { cookie },
    });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("No such task");
    const odd = await api.request("/board/tasks/not-an-id", { token: null, headers: { cookie } });
    expect(odd.status).toBe(404);
  });
});
