// What the Chromium tests share: the browser they need (skipped without it, failed without it when
// FOREMAN_REQUIRE_BROWSER=1 — CI sets that once it could install the browser) and the real app served
// on a loopback port for the file's tests, with the browser launched the way this machine allows.
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { type ServerType, serve } from "@hono/node-server";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe } from "vitest";

export const CHROMIUM = "/usr/bin/chromium";
const present = existsSync(CHROMIUM);
const required = process.env.FOREMAN_REQUIRE_BROWSER === "1";

/** A describe block that needs Chromium. */
export function describeInBrowser(title: string, body: () => void): void {
  describe.skipIf(!present && !required)(
    `${title}${present ? "" : ` (skipped: ${CHROMIUM} is not installed; apt-get install -y chromium)`}`,
    body,
  );
}

/** Serves `app()` on a loopback port and launches Chromium before the file's tests; both end after. */
export function useBrowserApp(app: () => { fetch: (req: Request) => Response | Promise<Response> }): {
  readonly base: string;
  readonly browser: Browser;
} {
  let server: ServerType | undefined;
  let browser: Browser | undefined;
  let base = "";
  beforeAll(async () => {
    if (!present) {
      throw new Error(
        `FOREMAN_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: install it with apt-get install -y chromium`,
      );
    }
    const s = serve({ fetch: app().fetch, port: 0, hostname: "127.0.0.1" });
    server = s;
    await new Promise<void>((resolve, reject) => {
      s.once("listening", resolve);
      s.once("error", reject);
    });
    base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    const s = server;
    if (s) {
      if ("closeAllConnections" in s) s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
  return {
    get base() {
      return base;
    },
    get browser() {
      if (!browser) throw new Error("useBrowserApp: the browser starts in beforeAll");
      return browser;
    },
  };
}
