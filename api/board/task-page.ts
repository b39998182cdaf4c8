// /board/tasks/:id — what a card links to: the task's facts, its AI verdicts and human stamps, and the
// newest events of its timeline, read by the same verb as GET /api/tasks/:id (whose JSON has it all,
// with paging, for a bearer token).
import { html } from "hono/html";
import type { getTask } from "../../lib/tasks/read.ts";
import { at, CLASS_LABELS, count, eventLine, STATE_LABELS, usd } from "./format.ts";
import { type Html, page } from "./layout.ts";

type Found = Awaited<ReturnType<typeof getTask>>;

const back = html`<p><a id="back" href="/board">← Back to the board</a></p>`;

export function taskPage(nonce: string, found: Found): Html {
  const t = found.task;
  const h = found.reviewHistory;
  const body = html`${back}
    <h1>${t.title}</h1>
    <dl class="facts">
      <dt>State</dt><dd>${STATE_LABELS[t.status]}${t.statusReason ? html` — ${t.statusReason}` : ""}</dd>
      ${t.failureClass ? html`<dt>Failure class</dt><dd>${CLASS_LABELS[t.failureClass]}</dd>` : ""}
      <dt>Project</dt><dd>${t.projectId}</dd>
      <dt>Worker</dt><dd>${t.workerId ?? "none"}</dd>
      <dt>Lane</dt><dd>P${t.priority}</dd>
      <dt>Revisions</dt><dd>${t.revisionCount} by the AI reviewer, ${h.humanRevisions} asked by people</dd>
      <dt>Dry-run</dt><dd>${t.dryRun ? "yes" : "no"}</dd>
      <dt>Source</dt><dd>${t.source}${t.sourceRef ? html` (${t.sourceRef})` : ""}</dd>
      <dt>Created</dt><dd>${at(t.createdAt)}</dd>
      <dt>Model usage</dt><dd>${count(found.usage.calls)} calls, ${count(found.usage.tokensIn + found.usage.tokensOut + found.usage.cacheWriteTokens)} tokens, ${usd(found.usage.costUsd)}</dd>
      <dt>Id</dt><dd><code>${t.id}</code> · JSON: <code>GET /api/tasks/${t.id}</code> with the bearer token</dd>
    </dl>
    ${t.description ? html`<h2>Description</h2><p>${t.description}</p>` : ""}
    ${found.dependsOn.length > 0 ? html`<h2>Depends on</h2><ul>${found.dependsOn.map((d) => html`<li><a href="/board/tasks/${d.id}">${d.id}</a> — ${STATE_LABELS[d.state]}</li>`)}</ul>` : ""}
    <h2>Reviews and stamps</h2>
    ${
      h.reviews.length + h.stamps.length === 0
        ? html`<p class="muted">No verdicts or stamps yet.</p>`
        : html`<ul>
        ${h.reviews.map((r) => html`<li>AI review, revision ${r.revision}: <strong>${r.verdict}</strong>${r.score !== null ? ` (score ${r.score})` : ""} — ${at(r.at)}${r.feedback ? html`<br />${r.feedback}` : ""}</li>`)}
        ${h.stamps.map((s) => html`<li>${s.stage} stamp: <strong>${s.decision}</strong> by ${s.actor} through ${s.channel} — ${at(s.at)}${s.note ? html`<br />${s.note}` : ""}</li>`)}
      </ul>`
    }
    <h2>Timeline <span class="muted">(newest ${found.timeline.length} events)</span></h2>
    <ol class="events">${found.timeline.map(
      (e) =>
        html`<li>${at(e.at)} <span class="kind">${e.kind}</span> <span class="muted">by ${e.actor}</span> ${eventLine(e.kind, e.payload)}</li>`,
    )}</ol>`;
  return page(nonce, t.title, body, { narrow: true });
}

export const taskNotFoundPage = (nonce: string, id: string): Html =>
  page(nonce, "No such task", html`${back}<h1>No such task</h1><p>No task has the id “${id}”.</p>`, {
    narrow: true,
  });
