// /stamp/:token — the client's review page: the deliverable and its summary, Approve / Request
// changes with a note, and a plain explanation for every link that cannot be used (tampered, expired,
// already used, superseded). A change request without a note shows the form again with the reason
// next to the note box. Server-rendered HTML, escaped by hono/html; no script needed.
import { Hono } from "hono";
import { html } from "hono/html";
import { isDomainError } from "../../lib/errors.ts";
import { decideThroughLink, type LinkView, openLink } from "../../lib/stamps/links.ts";
import { appendEvents } from "../../lib/tasks/event-log.ts";
import { cleanText, findTextIssue } from "../../lib/text.ts";
import { publishWithin } from "../background.ts";
import type { AppEnv } from "../env.ts";

const page = (title: string, body: ReturnType<typeof html>) => html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>${title} · foreman</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
      pre { white-space: pre-wrap; background: #f5f5f4; padding: 1rem; border-radius: 6px; }
      button { font: inherit; padding: .5rem 1.25rem; margin-right: .5rem; border-radius: 6px; border: 1px solid #444; cursor: pointer; }
      button.primary { background: #14532d; color: #fff; border-color: #14532d; }
      textarea { width: 100%; min-height: 6rem; font: inherit; }
      :focus-visible { outline: 3px solid #2563eb; outline-offset: 2px; }
      .error { color: #991b1b; border-left: 4px solid #991b1b; padding-left: .75rem; }
    </style>
  </head>
  <body>
    <main>${body}</main>
  </body>
</html>`;

const refusal = (title: string, reason: string) => page(title, html`<h1>${title}</h1><p>${reason}</p>`);

const NOTE_MAX = 3000;
const NOTE_MISSING = "Write what should change in the box below, then press Request changes.";

interface NoteProblem {
  /** What is wrong, in a few words. */
  title: string;
  /** What to do about it. */
  advice: string;
  /** What the client wrote, shown again so nothing typed is lost (cleaned of what cannot be shown). */
  note?: string;
}

/**
 * The note of a change request, or why it cannot be sent. Browsers submit a textarea's line breaks as
 * CRLF while its maxlength counts each as one character, so line breaks are normalised before the
 * limit is checked; a note over the limit is refused, never cut.
 */
function readNote(
  raw: unknown,
  decision: "approve" | "request_changes",
): { ok: true; note: string } | { ok: false; problem: NoteProblem } {
  // The advice names the button the client pressed: telling someone who approved to press Request
  // changes would turn their approval into a change request.
  const button = decision === "approve" ? "Approve" : "Request changes";
  const note = (typeof raw === "string" ? raw : "").replace(/\r\n?/g, "\n").trim();
  const shown = cleanText(note, { multiline: true }).text;
  const issue = findTextIssue(note, { multiline: true });
  if (issue) {
    return {
      ok: false,
      problem: {
        title: "The note holds a character that cannot be kept.",
        advice: `It ${issue.message.replace(/^contains/, "has")}; it was removed below. Check the note, then press ${button} again.`,
        note: shown,
      },
    };
  }
  if (note.length > NOTE_MAX) {
    return {
      ok: false,
      problem: {
        title: "The note is too long.",
        advice: `It is ${note.length.toLocaleString("en")} characters; the limit is ${NOTE_MAX.toLocaleString("en")}. Shorten it, then press ${button} again.`,
        note: shown,
      },
    };
  }
  return { ok: true, note };
}

/** The review form; with `problem`, the same form saying why a change request was not sent. */
const review = (view: Extract<LinkView, { ok: true }>, opts: { problem?: NoteProblem } = {}) => {
  const d = view.deliverable;
  const problem = opts.problem;
  const bad = problem !== undefined;
  return page(
    bad ? `Error: ${view.task.title}` : view.task.title,
    html`<h1>${view.task.title}</h1>
      <p>Please review the work below and approve it, or say what should change.</p>
      <h2>The deliverable${d ? html` (version ${d.version})` : ""}</h2>
      <pre>${d?.markdown ?? "(no deliverable text)"}</pre>
      <h2>Your decision</h2>
      <form method="post">
        ${bad ? html`<p id="note-error" class="error" role="alert"><strong>${problem.title}</strong> ${problem.advice}</p>` : ""}
        <label for="note">What should change (needed to request changes)</label>
        <textarea id="note" name="note" maxlength="${NOTE_MAX}"${bad ? html` aria-invalid="true" aria-describedby="note-error" autofocus` : ""}>${problem?.note ?? ""}</textarea>
        <p>
          <button class="primary" type="submit" name="decision" value="approve">Approve</button>
          <button type="submit" name="decision" value="request_changes">Request changes</button>
        </p>
      </form>`,
  );
};

export const stampPageRoutes = new Hono<AppEnv>()
  // Without a link key no link can be checked: say so as a page, like every other refusal here.
  .use("/:token", async (c, next) => {
    // The URL is the credential: never cached, never sent on as a Referer by a link in the work,
    // never framed (a decision clicked through someone else's page).
    c.header("cache-control", "no-store");
    c.header("referrer-policy", "no-referrer");
    c.header(
      "content-security-policy",
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    c.header("x-content-type-options", "nosniff");
    if (!c.get("deps").config.STAMP_LINK_KEY) {
      return c.html(
        refusal("Review links are not available", "This server is not set up for client review links yet."),
        503,
      );
    }
    return next();
  })
  .get("/:token", async (c) => {
    const deps = c.get("deps");
    const view = await openLink(deps.db, deps.config, c.req.param("token"), deps.now());
    if (!view.ok) return c.html(refusal(view.title, view.reason), view.status);
    return c.html(review(view));
  })
  .post("/:token", async (c) => {
    const deps = c.get("deps");
    const view = await openLink(deps.db, deps.config, c.req.param("token"), deps.now());
    if (!view.ok) {
      // A genuine link refused for its task's sake is audited there; a forged one has no task to name.
      if (view.taskId) {
        await appendEvents(deps.db, [
          {
            taskId: view.taskId,
            actor: "link:client",
            kind: "refusal",
            payload: { what: "client decision via link", reason: `${view.title}: ${view.reason}` },
          },
        ]);
      } else deps.logger.warn("stamp link refused", { status: view.status, reason: view.reason });
      return c.html(refusal(view.title, view.reason), view.status);
    }
    // A body that is not a form (a broken multipart boundary, say) is the sender's mistake, not ours.
    const form = await c.req.parseBody().catch(() => undefined);
    if (!form) {
      return c.html(
        refusal(
          "The form could not be read",
          "Open the review link again and press Approve or Request changes.",
        ),
        400,
      );
    }
    const decision =
      form.decision === "approve" || form.decision === "request_changes" ? form.decision : undefined;
    if (!decision) return c.html(refusal("Choose a decision", "Press Approve or Request changes."), 400);
    const read = readNote(form.note, decision);
    // The form again, not a dead end: the reason sits by the note box, which is focused and marked invalid.
    if (!read.ok) return c.html(review(view, { problem: read.problem }), 400);
    const note = read.note;
    if (decision === "request_changes" && !note) {
      return c.html(
        review(view, { problem: { title: "Say what should change.", advice: NOTE_MISSING } }),
        400,
      );
    }
    let repeated: boolean;
    try {
      const applied = await decideThroughLink(deps.db, view.payload, {
        decision,
        ...(note ? { note } : {}),
        actor: "client",
      });
      // The decision is committed with its events: a slow engine must not keep the client waiting.
      await publishWithin(c, applied.transition.outbox, 2_000);
      repeated = applied.repeated;
    } catch (err) {
      if (isDomainError(err) && err.code === "CONFLICT") {
        // Spent by the other of two quick submissions: the link's page, not an error of ours.
        if ((err.details as { reason?: string } | undefined)?.reason === "used")
          return c.html(refusal("This link was already used", err.message), 410);
        return c.html(refusal("This decision was not recorded", err.message), 409);
      }
      throw err;
    }
    return c.html(
      page(
        "Thank you",
        decision === "approve"
          ? html`<h1>Thank you — approved</h1><p>Your approval was recorded. You can close this page.</p>`
          : html`<h1>Thank you — changes requested</h1><p>Your note was sent to the team. You will get a new link for the revised work.</p>`,
      ),
      // The same decision submitted twice (a double click) is recorded once, and thanked for twice.
      repeated ? 200 : 201,
    );
  });
