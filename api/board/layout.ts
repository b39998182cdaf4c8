// The board's page shell: lang, title, styles with visible keyboard focus and readable contrast, and
// the headers every board response carries — no caching, no framing, and a content security policy
// whose per-response nonce is the only way a style or script runs (the refresh script is the one
// script). Escaping is hono/html's.
import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import { html, raw } from "hono/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../env.ts";

export type Html = ReturnType<typeof html>;

const STYLES = `
  :root { color-scheme: light; }
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #fafaf9; }
  header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .75rem 1.25rem;
    background: #fff; border-bottom: 1px solid #d6d3d1; }
  header.top h1 { font-size: 1.25rem; margin: 0; }
  main { padding: 1rem 1.25rem 3rem; }
  main.narrow { max-width: 44rem; margin: 2rem auto; }
  h2 { font-size: 1.1rem; margin: 1.75rem 0 .5rem; }
  h3 { font-size: 1rem; margin: 0 0 .5rem; }
  a { color: #1d4ed8; }
  :focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
  button, select, input { font: inherit; }
  button { padding: .3rem .9rem; border-radius: 6px; border: 1px solid #44403c; background: #fff; color: #1b1b1b; cursor: pointer; }
  button.primary { background: #14532d; color: #fff; border-color: #14532d; }
  select, input[type=password] { padding: .3rem .4rem; border: 1px solid #57534e; border-radius: 6px; background: #fff; color: #1b1b1b; }
  input[type=password] { width: 100%; box-sizing: border-box; }
  form.inline { display: flex; gap: .5rem; align-items: center; margin: 0; }
  .muted { color: #4b5563; }
  .skip { position: absolute; left: -999px; }
  .skip:focus { left: 1rem; top: .5rem; background: #fff; padding: .25rem .5rem; }
  .columns { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .75rem; }
  .column { background: #fff; border: 1px solid #d6d3d1; border-radius: 8px; padding: .6rem; }
  .column ul, ul.plain, ol.events { list-style: none; margin: 0; padding: 0; }
  .card { border: 1px solid #e7e5e4; border-radius: 6px; padding: .45rem .55rem; margin-bottom: .45rem; background: #fff; }
  .card p { margin: .15rem 0; }
  .card .title { font-weight: 600; }
  .count { display: inline-block; min-width: 1.5rem; text-align: center; background: #e7e5e4; border-radius: 999px; padding: 0 .4rem; margin-left: .25rem; }
  .badge { display: inline-block; font-size: .8rem; border-radius: 4px; padding: 0 .35rem; margin-right: .25rem; }
  .badge.dry { background: #fde68a; color: #422006; }
  .badge.class { background: #fee2e2; color: #7f1d1d; }
  .banner { background: #fef3c7; color: #422006; border-left: 4px solid #b45309; padding: .5rem .75rem; }
  .alert { background: #fee2e2; color: #7f1d1d; border-left: 4px solid #991b1b; padding: .5rem .75rem; }
  table { border-collapse: collapse; width: 100%; background: #fff; }
  th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #e7e5e4; padding: .4rem .5rem; }
  meter { width: 16rem; max-width: 100%; height: 1rem; }
  ol.events li { padding: .25rem 0; border-bottom: 1px solid #e7e5e4; }
  .kind { font-family: ui-monospace, monospace; font-size: .85rem; background: #f5f5f4; padding: 0 .3rem; border-radius: 4px; }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dl.facts dt { font-weight: 600; }
  dl.facts dd { margin: 0; }
`;

export interface PageOptions {
  /** Content above <main>: the board's header with the filter and sign-out. */
  header?: Html;
  /** The inline script's source — a constant of this code base, never data, so inserted raw. */
  script?: string;
  narrow?: boolean;
}

export function page(nonce: string, title: string, body: Html, opts: PageOptions = {}): Html {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <link rel="icon" href="data:," />
    <title>${title} · foreman</title>
    <style nonce="${nonce}">${STYLES}</style>
  </head>
  <body>
    ${opts.header ?? ""}
    <main id="main"${opts.narrow ? html` class="narrow"` : ""}>${body}</main>
    ${opts.script ? html`<script nonce="${nonce}">${raw(opts.script)}</script>` : ""}
  </body>
</html>`;
}

/** Sends a board page with the board's headers; `render` gets the nonce its page must use. */
export function sendPage(
  c: Context<AppEnv>,
  render: (nonce: string) => Html,
  status: ContentfulStatusCode = 200,
): Response | Promise<Response> {
  const nonce = randomBytes(16).toString("base64");
  c.header(
    "content-security-policy",
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  c.header("cache-control", "no-store");
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "same-origin");
  return c.html(render(nonce), status);
}
