// The board page: a header with the project filter (a plain GET form, so it works without script),
// a reload link and sign-out, the content, and one small script that refreshes the content from
// /board/fragment every few seconds without reloading the page — keeping the keyboard focus where it
// was and stopping, with a message, when the session ends.
import { html } from "hono/html";
import type { BoardData } from "../../lib/board/read.ts";
import { type Html, page } from "./layout.ts";
import { boardContent } from "./render.ts";

export interface Viewer {
  via: "token" | "access";
  /** Who Access says it is (email or service token name); none for a token session. */
  identity?: string;
}

/** The board's own query string for a filter (the default refresh is left out). */
export function boardSearch(project: string | undefined, refresh: number): string {
  const q = new URLSearchParams();
  if (project) q.set("project", project);
  if (refresh !== 15) q.set("refresh", String(refresh));
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Runs in the browser. It only swaps server-rendered, escaped HTML into the content element.
const REFRESH_SCRIPT = `(() => {
  const root = document.getElementById("board-content");
  const status = document.getElementById("refresh-status");
  if (!root || !status || !window.fetch) return;
  const every = Number(root.dataset.refreshSeconds) * 1000;
  status.hidden = false;
  status.textContent = "Updates every " + every / 1000 + " s";
  const tick = async () => {
    if (!document.hidden) {
      try {
        const res = await fetch(root.dataset.fragment, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { accept: "text/html" },
        });
        const text = await res.text();
        if (res.status === 401) {
          root.innerHTML = text;
          status.textContent = "Signed out: updates stopped.";
          return;
        }
        // 404 is still content: the filter names a project that is gone, and the content says so.
        if (!res.ok && res.status !== 404) throw new Error("HTTP " + res.status);
        const active = document.activeElement;
        const focused = active && active !== root && root.contains(active) ? active.id : "";
        root.innerHTML = text;
        const again = focused ? document.getElementById(focused) : null;
        if (again) again.focus();
        status.textContent = "Updated at " + new Date().toLocaleTimeString();
      } catch (err) {
        status.textContent = "Could not update (" + (err && err.message ? err.message : err) + "); trying again.";
      }
    }
    setTimeout(tick, every);
  };
  setTimeout(tick, every);
})();`;

function header(data: BoardData, viewer: Viewer, refresh: number): Html {
  const selected = data.project?.id;
  return html`<a class="skip" href="#board-content">Skip to the board</a>
  <header class="top">
    <h1>foreman status board</h1>
    <form class="inline" method="get" action="/board" role="search" aria-label="Filter the board">
      <label for="project">Project</label>
      <select id="project" name="project">
        <option value=""${selected ? "" : html` selected`}>All projects</option>
        ${data.projects.map((p) => html`<option value="${p.id}"${p.id === selected ? html` selected` : ""}>${p.name}</option>`)}
      </select>
      ${refresh !== 15 ? html`<input type="hidden" name="refresh" value="${refresh}" />` : ""}
      <button type="submit">Show</button>
    </form>
    <a id="reload" href="/board${boardSearch(selected, refresh)}">Reload</a>
    <p id="refresh-status" class="muted" hidden></p>
    ${
      viewer.via === "access"
        ? html`<p class="muted">Signed in through Cloudflare Access as ${viewer.identity} · <a href="/cdn-cgi/access/logout">Sign out of Access</a></p>`
        : html`<form class="inline" method="post" action="/board/logout"><span class="muted">Signed in with the API token</span> <button type="submit">Sign out</button></form>`
    }
  </header>`;
}

export function boardPage(nonce: string, data: BoardData, viewer: Viewer, refresh: number): Html {
  const fragment = `/board/fragment${boardSearch(data.project?.id ?? data.unknownProject, 15)}`;
  const title = data.project ? `Board: ${data.project.name}` : "Board";
  return page(
    nonce,
    title,
    html`<div id="board-content" tabindex="-1" data-fragment="${fragment}" data-refresh-seconds="${refresh}">${boardContent(data)}</div>`,
    { header: header(data, viewer, refresh), script: REFRESH_SCRIPT },
  );
}
