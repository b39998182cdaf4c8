// The board's sign-in page: one password field for the API token, posted to /board/login. A refusal
// shows the same form with the reason next to the field (focused, marked invalid), like the stamp page.
import { html } from "hono/html";
import { type Html, page } from "./layout.ts";

export interface LoginView {
  /** Where to go after signing in (a /board path, already checked). */
  next: string;
  /** Why the last attempt was refused. */
  error?: string | undefined;
  /** Cloudflare Access is configured: say that it signs people in too, and why it did not now. */
  access?: { reason?: string | undefined } | undefined;
  /** The server has no API token to check against. */
  unconfigured?: boolean;
}

export function loginPage(nonce: string, view: LoginView): Html {
  const bad = view.error !== undefined;
  const body = html`<h1>Sign in to the foreman board</h1>
    ${
      view.unconfigured
        ? html`<p class="alert" role="alert">This server has no API token (FOREMAN_API_TOKEN), so nobody can sign in yet.</p>`
        : html`<p>Paste the API token: <code>FOREMAN_API_TOKEN</code>, or under <code>npm start</code> the token it printed
      (kept in <code>.foreman/api-token</code>). The token stays on the server; your browser keeps a signed
      session for 12 hours.</p>
    ${view.access ? html`<p class="muted">Cloudflare Access also signs people in here${view.access.reason ? html` — it did not now: ${view.access.reason}` : ""}.</p>` : ""}
    <form method="post" action="/board/login">
      ${bad ? html`<p id="token-error" class="alert" role="alert"><strong>Not signed in.</strong> ${view.error}</p>` : ""}
      <input type="hidden" name="next" value="${view.next}" />
      <p><label for="token">API token</label></p>
      <p><input id="token" name="token" type="password" required autocomplete="current-password" spellcheck="false"${bad ? html` aria-invalid="true" aria-describedby="token-error" autofocus` : ""} /></p>
      <p><button class="primary" type="submit">Sign in</button></p>
    </form>`
    }`;
  return page(nonce, bad ? "Error: sign in" : "Sign in", body, { narrow: true });
}
