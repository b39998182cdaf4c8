// The board's content — the part the page's script refreshes from GET /board/fragment: today's spend,
// a column per state with counts and cards, the stamps waiting, triage by failure class and the recent
// events. Every link has a stable id, so a refresh can give the keyboard focus back where it was.
import { html } from "hono/html";
import type { FailureGroup, RecentEvent } from "../../lib/board/activity.ts";
import type { BoardCard, BoardColumn } from "../../lib/board/columns.ts";
import type { BoardData } from "../../lib/board/read.ts";
import type { WaitingStamp } from "../../lib/board/stamps.ts";
import { FAILURE_HINTS } from "../../lib/failures.ts";
import { ago, CLASS_LABELS, count, day, eventLine, STATE_LABELS, span, usd } from "./format.ts";
import type { Html } from "./layout.ts";

export const taskHref = (id: string) => `/board/tasks/${encodeURIComponent(id)}`;

function spend(b: BoardData["budget"], filtered: boolean): Html {
  const share = b.dailyTokens > 0 ? Math.round((b.tokensToday / b.dailyTokens) * 1000) / 10 : 100;
  return html`<section aria-labelledby="spend-h">
    <h2 id="spend-h">Today's spend <span class="muted">(${b.day}, UTC${filtered ? ", all projects" : ""})</span></h2>
    ${b.dailySpent ? html`<p class="alert" role="alert"><strong>Today's budget is spent:</strong> the scheduler leases no more work until 00:00 UTC.</p>` : b.warnings.length > 0 ? html`<p class="banner">Past ${b.warnings.at(-1)} % of today's token budget.</p>` : ""}
    <p><label for="tokens-meter">Tokens</label>:
      <meter id="tokens-meter" min="0" max="${Math.max(1, b.dailyTokens)}" low="${Math.round(b.dailyTokens * 0.8)}" high="${Math.round(b.dailyTokens * 0.95)}" optimum="0" value="${b.tokensToday}">${share} %</meter>
      ${count(b.tokensToday)} of ${count(b.dailyTokens)} (${share} %)</p>
    <p>Cost: ${usd(b.costToday)}${b.dailyCostUsd !== undefined ? html` of ${usd(b.dailyCostUsd)}` : html` <span class="muted">(no daily cost cap: FOREMAN_DAILY_COST_BUDGET_USD)</span>`}</p>
  </section>`;
}

function card(c: BoardCard, now: Date): Html {
  return html`<li><article class="card" data-task-id="${c.id}">
    <p class="title"><a id="card-${c.id}" href="${taskHref(c.id)}">${c.title}</a></p>
    <p class="muted">${c.projectName ?? c.projectId} · ${c.workerName ?? c.workerId ?? "no worker"}</p>
    <p>in state ${span(c.enteredAt, now)} · created ${ago(c.createdAt, now)}</p>
    <p>${c.revisionCount === 1 ? "1 revision" : `${c.revisionCount} revisions`}
      ${c.dryRun ? html`<span class="badge dry">dry-run</span>` : ""}
      ${c.failureClass ? html`<span class="badge class">${CLASS_LABELS[c.failureClass]}</span>` : ""}</p>
  </article></li>`;
}

function column(col: BoardColumn, now: Date): Html {
  const more = col.count - col.cards.length;
  return html`<section class="column" data-state="${col.state}" aria-labelledby="col-${col.state}">
    <h3 id="col-${col.state}">${STATE_LABELS[col.state]} <span class="count" aria-label="${col.count} tasks">${col.count}</span></h3>
    ${col.cards.length > 0 ? html`<ul>${col.cards.map((c) => card(c, now))}</ul>` : html`<p class="muted">None.</p>`}
    ${more > 0 ? html`<p class="muted">and ${count(more)} more not shown</p>` : ""}
  </section>`;
}

function whom(w: WaitingStamp): Html {
  const people = w.reviewers.map(
    (r) =>
      html`<li>${r.name}${r.slackUserId ? html` <span class="muted">Slack ${r.slackUserId}</span>` : ""}${r.email ? html` <span class="muted">${r.email}</span>` : ""}${r.escalates ? html` <span class="muted">(escalation)</span>` : ""}</li>`,
  );
  const client = w.stage === "client" ? html`<li>the client, through the link</li>` : "";
  if (people.length === 0)
    return html`<ul class="plain">${client}<li class="muted">no ${w.stage} reviewer is listed for this project</li></ul>`;
  return html`<ul class="plain">${client}${people}</ul>`;
}

function links(w: WaitingStamp, now: Date): Html {
  const card = w.card
    ? html`<li>Slack card in channel ${w.card.channel}${w.card.recorded === "would_do" ? " (dry-run: recorded, not sent)" : ""}</li>`
    : html`<li class="muted">no Slack card recorded for this version</li>`;
  let link: Html | string = "";
  if (w.stage === "client") {
    const l = w.link;
    link = !l
      ? html`<li class="muted">no client link recorded for this version</li>`
      : l.usedAt
        ? html`<li>client link sent, used ${ago(l.usedAt, now)}</li>`
        : l.expiresAt <= now
          ? html`<li>client link sent, <strong>expired</strong> ${day(l.expiresAt)}, unused</li>`
          : html`<li>client link sent, expires ${day(l.expiresAt)}, unused</li>`;
  }
  return html`<ul class="plain"><li><a id="stamp-${w.taskId}" href="${taskHref(w.taskId)}">task page</a></li>${card}${link}</ul>`;
}

/** `total`: every task at a human stage (the review columns' counts); `waiting` lists the oldest of them. */
function stamps(waiting: WaitingStamp[], counted: number, now: Date): Html {
  // The columns and this list are read side by side (two snapshots): never show fewer than listed.
  const total = Math.max(counted, waiting.length);
  const more = total - waiting.length;
  return html`<section aria-labelledby="stamps-h">
    <h2 id="stamps-h">Stamps waiting <span class="count">${total}</span></h2>
    ${more > 0 ? html`<p class="muted">The ${count(waiting.length)} longest waits are listed; ${count(more)} more are not shown.</p>` : ""}
    ${
      waiting.length === 0
        ? html`<p class="muted">No task is waiting for a human stamp.</p>`
        : html`<table>
      <caption class="skip">Tasks waiting for a human decision, the longest wait first</caption>
      <thead><tr><th scope="col">Task</th><th scope="col">Stage</th><th scope="col">Waiting on</th><th scope="col">Since</th><th scope="col">Links</th></tr></thead>
      <tbody>${waiting.map(
        (w) => html`<tr data-task-id="${w.taskId}">
          <td>${w.title}<br /><span class="muted">${w.projectName ?? w.projectId}</span>${w.dryRun ? html` <span class="badge dry">dry-run</span>` : ""}</td>
          <td>${w.stage === "internal" ? "internal" : "client"}</td>
          <td>${whom(w)}</td>
          <td>${ago(w.since, now)}</td>
          <td>${links(w, now)}</td>
        </tr>`,
      )}</tbody>
    </table>`
    }
  </section>`;
}

function failures(groups: FailureGroup[]): Html {
  return html`<section aria-labelledby="failures-h">
    <h2 id="failures-h">Needs triage, by failure class</h2>
    ${
      groups.length === 0
        ? html`<p class="muted">Nothing is waiting for triage.</p>`
        : html`<ul class="plain">${groups.map(
            (g) => html`<li data-class="${g.failureClass}">
              <h3>${CLASS_LABELS[g.failureClass]} <span class="count">${g.count}</span></h3>
              <p class="muted">${FAILURE_HINTS[g.failureClass]}</p>
              <ul>${g.tasks.map((x) => html`<li><a id="fail-${x.id}" href="${taskHref(x.id)}">${x.title}</a></li>`)}</ul>
            </li>`,
          )}</ul>`
    }
  </section>`;
}

function events(list: RecentEvent[], now: Date): Html {
  return html`<section aria-labelledby="events-h">
    <h2 id="events-h">Recent events</h2>
    ${
      list.length === 0
        ? html`<p class="muted">No events yet.</p>`
        : html`<ol class="events">${list.map(
            (e) => html`<li>${ago(e.at, now)} <span class="kind">${e.kind}</span>
              <a id="event-${e.id}" href="${taskHref(e.taskId)}">${e.taskTitle}</a>
              <span class="muted">by ${e.actor}</span> ${eventLine(e.kind, e.payload)}</li>`,
          )}</ol>`
    }
  </section>`;
}

/** The refreshable content of the board (the inside of #board-content). */
export function boardContent(data: BoardData): Html {
  const now = data.now;
  return html`<p class="muted">As of ${data.now.toISOString().slice(11, 19)} UTC${data.project ? html` · project ${data.project.name}` : ""}</p>
    ${data.unknownProject ? html`<p class="alert" role="alert">No project has the id “${data.unknownProject}”: choose one in the list above.</p>` : ""}
    ${data.dryRun ? html`<p class="banner">Dry-run is on for every task (FOREMAN_DRY_RUN): CRM and Slack writes are recorded as WOULD_DO, not sent.</p>` : ""}
    ${spend(data.budget, data.project !== undefined)}
    <section aria-labelledby="states-h">
      <h2 id="states-h">Tasks by state</h2>
      <div class="columns">${data.columns.map((c) => column(c, now))}</div>
    </section>
    ${stamps(
      data.waiting,
      data.columns
        .filter((c) => c.state === "awaiting_internal_review" || c.state === "awaiting_client_review")
        .reduce((n, c) => n + c.count, 0),
      now,
    )}
    ${failures(data.failures)}
    ${events(data.events, now)}`;
}
