// The client stamp page in headless Chromium, against the real app on a loopback port: the
// deliverable is shown (escaped) under a heading naming the task, Approve records one stamp and a
// second visit is refused with 410, Request changes needs a note and says so next to the note box,
// and with one it sends the task back with that note. JavaScript is off: the page must work without it.
// Needs /usr/bin/chromium (apt-get install -y chromium): skipped without it, failed without it when
// FOREMAN_REQUIRE_BROWSER=1 (CI sets that when it could install the browser).
import { eq } from "drizzle-orm";
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeEach, expect, it } from "vitest";
import { stampLinks, stamps, tasks } from "../../db/schema/index.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { awaitingClientWithLink } from "../fixtures.ts";
import { describeInBrowser, useBrowserApp } from "./harness.ts";

const KEY = "k".repeat(40);
const TITLE = "Set up the Service Hub pipeline";
const MARKDOWN = "# Pipeline\nFour stages <b>created</b>.";

describeInBrowser("the stamp page in Chromium", () => {
  const t = useTestDb();
  const app = useBrowserApp(() => testApp(t.current.db, { STAMP_LINK_KEY: KEY }).app);
  let context: BrowserContext;
  let page: Page;

  beforeEach(async () => {
    context = await app.browser.newContext({ javaScriptEnabled: false });
    page = await context.newPage();
  });
  afterEach(async () => {
    await context?.close();
  });

  /** A task with a stored deliverable, awaiting the client's stamp, and the URL of its link. */
  async function awaitingClient() {
    const { task, link } = await awaitingClientWithLink(t.current.db, {
      key: KEY,
      title: TITLE,
      markdown: MARKDOWN,
    });
    return { task, link, url: `${app.base}${link.path}` };
  }

  const statusOf = async (id: string) =>
    (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;
  const stampsOf = (id: string) => t.current.db.select().from(stamps).where(eq(stamps.taskId, id));
  const h1 = () => page.getByRole("heading", { level: 1 }).innerText();

  /** Clicks a decision button and returns the status of the POST it sends. */
  async function press(name: "Approve" | "Request changes"): Promise<number> {
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.getByRole("button", { name, exact: true }).click(),
    ]);
    await page.waitForLoadState("domcontentloaded");
    return res.status();
  }

  it("shows the deliverable, takes one approval, and refuses the link the second time", async () => {
    const { task, link, url } = await awaitingClient();
    const opened = await page.goto(url);
    expect(opened?.status()).toBe(200);
    expect(await page.title()).toBe(`${TITLE} · foreman`);
    expect(await h1()).toBe(TITLE);
    expect(await page.locator("html").getAttribute("lang")).toBe("en");
    // The markdown as text: the tag in it is shown, not rendered.
    expect(await page.locator("pre").innerText()).toBe(MARKDOWN);
    expect(await page.locator("pre b").count()).toBe(0);
    // The note box is reachable by its label, and keyboard focus is visible.
    expect(await page.getByLabel("What should change").evaluate((e) => e.tagName)).toBe("TEXTAREA");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("note");
    await page.keyboard.press("Tab");
    const approve = page.getByRole("button", { name: "Approve", exact: true });
    expect(await approve.evaluate((e) => e === document.activeElement)).toBe(true);
    expect(await approve.evaluate((e) => getComputedStyle(e).outlineStyle)).toBe("solid");

    expect(await press("Approve")).toBe(201);
    expect(await h1()).toBe("Thank you — approved");
    expect(await page.getByText("Your approval was recorded.").isVisible()).toBe(true);
    expect(await statusOf(task.id)).toBe("done");
    const rows = await stampsOf(task.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      channel: "link",
      decision: "approve",
      stage: "client",
      actor: "client",
    });
    const [used] = await t.current.db.select().from(stampLinks).where(eq(stampLinks.tokenId, link.tokenId));
    expect(used?.usedAt).toBeInstanceOf(Date);

    const again = await page.goto(url);
    expect(again?.status()).toBe(410);
    expect(await h1()).toBe("This link was already used");
    expect(await page.getByText("A decision was made through it on").isVisible()).toBe(true);
    expect(await page.getByRole("button").count()).toBe(0);
    expect(await stampsOf(task.id)).toHaveLength(1);
  });

  it("refuses Request changes without a note, saying why by the note box, then takes the note", async () => {
    const { task, url } = await awaitingClient();
    await page.goto(url);

    expect(await press("Request changes")).toBe(400);
    const alert = page.getByRole("alert");
    expect(await alert.isVisible()).toBe(true);
    expect(await alert.innerText()).toContain("Say what should change.");
    // Still the review page, the form is there, and the note box carries the reason and the focus.
    expect(await h1()).toBe(TITLE);
    expect(await page.title()).toBe(`Error: ${TITLE} · foreman`);
    const note = page.getByLabel("What should change");
    expect(await note.getAttribute("aria-invalid")).toBe("true");
    expect(await note.getAttribute("aria-describedby")).toBe("note-error");
    expect(await note.evaluate((e) => e === document.activeElement)).toBe(true);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    expect(await stampsOf(task.id)).toHaveLength(0);

    const text = "Call the last stage Closed, not Done.";
    await note.fill(text);
    expect(await press("Request changes")).toBe(201);
    expect(await h1()).toBe("Thank you — changes requested");
    expect(await statusOf(task.id)).toBe("ready");
    const rows = await stampsOf(task.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: "link", decision: "request_changes", note: text });
  });
});
