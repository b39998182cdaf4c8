// The status board in headless Chromium, against the real app on a loopback port: the sign-in form
// leads to the board, seeded tasks sit in their state's columns, nothing is logged as a console error
// or page error (a CSP violation would be), Tab reaches the project filter and the cards' links with a
// visible focus ring, and the refresh swaps new content in without reloading the page (and gives the
// focus back). With JavaScript off the same board signs in, renders and filters. A screenshot is saved
// to /tmp/board.png. Needs /usr/bin/chromium (apt-get install -y chromium): skipped without it, failed
// without it when FOREMAN_REQUIRE_BROWSER=1 (CI sets that when it could install the browser).
import { existsSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeAll, expect, it } from "vitest";
import { type SeededBoard, seedBoard } from "../board-seed.ts";
import { useTestDb } from "../db.ts";
import { TEST_TOKEN, testApp } from "../deps.ts";
import { insertTask } from "../fixtures.ts";
import { describeInBrowser, useBrowserApp } from "./harness.ts";

const SCREENSHOT = "/tmp/board.png";

describeInBrowser("the status board in Chromium", () => {
  const t = useTestDb();
  const app = useBrowserApp(() => testApp(t.current.db, { FOREMAN_DAILY_TOKEN_BUDGET: "2000000" }).app);
  let seed: SeededBoard;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    seed = await seedBoard(t.current.db, { name: "Northwind Clinics", now: new Date(), day: new Date() });
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  /** A fresh page that records console errors and uncaught page errors. */
  async function open(javaScriptEnabled: boolean): Promise<{ page: Page; errors: string[] }> {
    context = await app.browser.newContext({ javaScriptEnabled, viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    return { page, errors };
  }

  /** Opens `path`, lands on the sign-in form, signs in and returns on `path`. */
  async function signIn(page: Page, path: string) {
    await page.goto(`${app.base}${path}`);
    expect(new URL(page.url()).pathname).toBe("/board/login");
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe("Sign in to the foreman board");
    await page.getByLabel("API token").fill(TEST_TOKEN);
    await Promise.all([
      page.waitForURL((u) => u.pathname === "/board"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`).toBe(path);
  }

  const inColumn = (page: Page, state: string, taskId: string) =>
    page.locator(`section.column[data-state="${state}"] article[data-task-id="${taskId}"]`);

  it("signs in, shows the seeded tasks in their columns, is keyboard reachable, and refreshes in place", async () => {
    const { page, errors } = await open(true);
    const path = `/board?project=${seed.projectId}&refresh=2`;
    // A wrong token first: the form again, with the reason, and no session.
    await page.goto(`${app.base}${path}`);
    await page.getByLabel("API token").fill("definitely-not-the-token");
    await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Sign in" }).click()]);
    expect(await page.getByRole("alert").innerText()).toContain("That is not this server's API token.");
    // The browser logs the 401 of that answer as a console error; only what follows must be clean.
    errors.length = 0;
    await page.getByLabel("API token").fill(TEST_TOKEN);
    await Promise.all([
      page.waitForURL((u) => u.pathname === "/board"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(`${new URL(page.url()).pathname}${new URL(page.url()).search}`).toBe(path);
    expect(await page.title()).toBe("Board: Northwind Clinics · foreman");
    expect(await page.locator("html").getAttribute("lang")).toBe("en");

    const { ids } = seed;
    const placed: [string, string][] = [
      ["intake", ids.intake],
      ["intake", ids.intakeDry],
      ["ready", ids.ready],
      ["working", ids.working],
      ["awaiting_internal_review", ids.internal],
      ["awaiting_client_review", ids.client],
      ["done", ids.done],
      ["failed_needs_triage", ids.authA],
      ["failed_needs_triage", ids.legacy],
    ];
    for (const [state, id] of placed)
      expect(await inColumn(page, state, id).count(), `${id} in ${state}`).toBe(1);
    expect(await page.locator("section.column article[data-task-id]").count()).toBe(11);
    expect(await page.locator('section.column[data-state="failed_needs_triage"] .count').innerText()).toBe(
      "4",
    );
    expect(await inColumn(page, "intake", ids.intakeDry).locator(".badge.dry").innerText()).toBe("dry-run");
    expect(await page.getByRole("heading", { name: "Stamps waiting" }).isVisible()).toBe(true);
    expect(await page.locator("#project").inputValue()).toBe(seed.projectId);

    // Keyboard: Tab from the top reaches the filter, then a card's link, each with a visible ring.
    const reached: { id: string; outline: string }[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement | null;
          return { id: el?.id ?? "", outline: el ? getComputedStyle(el).outlineStyle : "" };
        }),
      );
    }
    const filter = reached.find((r) => r.id === "project");
    const cardLink = reached.find((r) => r.id.startsWith("card-"));
    expect(filter, JSON.stringify(reached)).toBeDefined();
    expect(filter?.outline).toBe("solid");
    expect(cardLink, JSON.stringify(reached)).toBeDefined();
    expect(cardLink?.outline).toBe("solid");
    const focusedId = cardLink?.id as string;
    await page.locator(`#${focusedId}`).focus();

    // The refresh: a task that arrives shows up without a reload, and the focus stays on its link.
    let navigations = 0;
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) navigations += 1;
    });
    await page.evaluate(() => {
      (window as unknown as { boardMarker: string }).boardMarker = "still here";
    });
    const late = await insertTask(t.current.db, {
      projectId: seed.projectId,
      status: "ready",
      title: "Northwind Clinics: arrived after the page loaded",
    });
    await inColumn(page, "ready", late.id).waitFor({ timeout: 15_000 });
    expect(await page.locator('section.column[data-state="ready"] .count').innerText()).toBe("2");
    expect(await page.evaluate(() => (window as unknown as { boardMarker?: string }).boardMarker)).toBe(
      "still here",
    );
    expect(navigations).toBe(0);
    expect(await page.locator("#refresh-status").innerText()).toMatch(/^Updated at /);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe(focusedId);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(errors).toEqual([]);
  });

  it("works without JavaScript: sign in, the board, and the filter as a plain form", async () => {
    const { page, errors } = await open(false);
    const elsewhere = await insertTask(t.current.db, {
      status: "ready",
      title: "A task of the default project",
    });
    await signIn(page, "/board");
    expect(await inColumn(page, "working", seed.ids.working).count()).toBe(1);
    expect(await inColumn(page, "ready", elsewhere.id).count()).toBe(1);
    // Not refreshed without script: the status line stays hidden, the Reload link is there instead.
    expect(await page.locator("#refresh-status").isHidden()).toBe(true);
    expect(await page.getByRole("link", { name: "Reload" }).isVisible()).toBe(true);
    await page.getByLabel("Project").selectOption(seed.projectId);
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get("project") === seed.projectId),
      page.getByRole("button", { name: "Show" }).click(),
    ]);
    expect(await inColumn(page, "ready", elsewhere.id).count()).toBe(0);
    expect(await inColumn(page, "working", seed.ids.working).count()).toBe(1);
    await Promise.all([
      page.waitForURL((u) => u.pathname.startsWith("/board/tasks/")),
      page.locator(`#card-${seed.ids.internal}`).click(),
    ]);
    expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe(
      "Northwind Clinics: Service Hub setup",
    );
    expect(errors).toEqual([]);
  });
});
