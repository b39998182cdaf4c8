// The client's stamp link: a minted link shows the deliverable and takes one decision; a second use,
// a tampered or expired token, a superseded version, a task that moved on, and a link from an earlier
// round of the same bytes each get a plain explanation and change nothing.
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { stampLinks, stamps, taskEvents, tasks } from "../../db/schema/index.ts";
import { verifyStampToken } from "../../lib/stamps/link.ts";
import { decideThroughLink, mintClientLink } from "../../lib/stamps/links.ts";
import { transition } from "../../lib/tasks/transition.ts";
import { useTestDb } from "../db.ts";
import { testApp } from "../deps.ts";
import { awaitingClientWithLink, freshKey } from "../fixtures.ts";

const t = useTestDb();
const KEY = "k".repeat(40);
const env = { STAMP_LINK_KEY: KEY };

/** A task with a stored deliverable, awaiting the client's stamp, and a link for it. */
const awaitingClient = () =>
  awaitingClientWithLink(t.current.db, {
    key: KEY,
    title: "Set up the Service Hub pipeline",
    markdown: "# Pipeline\nFour stages <b>created</b>.",
  });
const form = (fields: Record<string, string>) => ({
  method: "POST",
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
  token: null,
});
const statusOf = async (id: string) =>
  (await t.current.db.select().from(tasks).where(eq(tasks.id, id)))[0]?.status;

describe("/stamp/:token", () => {
  it("shows the deliverable, escaped, and records one approval; a second use is refused", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const page = await api.request(link.path, { token: null });
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain("Set up the Service Hub pipeline");
    expect(body).toContain("Four stages &lt;b&gt;created&lt;/b&gt;.");
    expect(body).toContain('<html lang="en">');
    expect(body).toMatch(/<label for="note">/);

    const approved = await api.request(link.path, form({ decision: "approve" }));
    expect(approved.status).toBe(201);
    expect(await statusOf(task.id)).toBe("done");
    const [s] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id));
    expect(s).toMatchObject({
      channel: "link",
      decision: "approve",
      sourceRef: `${task.id}:${link.tokenId}`,
    });
    const [row] = await t.current.db.select().from(stampLinks).where(eq(stampLinks.tokenId, link.tokenId));
    expect(row?.usedAt).toBeInstanceOf(Date);

    const again = await api.request(link.path, form({ decision: "request_changes", note: "actually no" }));
    expect(again.status).toBe(410);
    expect(await again.text()).toContain("already used");
    expect(await statusOf(task.id)).toBe("done");
    // The refused second use is audited on the task.
    const refusals = (
      await t.current.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id))
    ).filter((e) => e.kind === "refusal");
    expect(refusals).toMatchObject([
      { actor: "link:client", payload: { reason: expect.stringContaining("already used") } },
    ]);
    expect(api.events.sent.filter((e) => e.name === "task/stamped")).toHaveLength(1);
  });

  it("a double submit: the same decision is thanked for again (recorded once), the other button is told the link is spent", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const approved = await api.request(link.path, form({ decision: "approve" }));
    expect(approved.status).toBe(201);
    // Two requests in flight: the second read the link (unused, the task awaiting the client) before
    // the first committed. Its page check is put back to what it read; the stamp then sees the first.
    const unmark = async () => {
      await t.current.db.update(stampLinks).set({ usedAt: null }).where(eq(stampLinks.tokenId, link.tokenId));
      await t.current.db.update(tasks).set({ status: "awaiting_client_review" }).where(eq(tasks.id, task.id));
    };
    await unmark();
    const again = await api.request(link.path, form({ decision: "approve" }));
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("Thank you — approved");
    await unmark();
    const other = await api.request(link.path, form({ decision: "request_changes", note: "wait, no" }));
    expect(other.status).toBe(410);
    const body = await other.text();
    expect(body).toContain("This link was already used");
    expect(body).toContain("A decision was already made through this link (approved)");
    expect(body).not.toContain("key");
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id))).toHaveLength(1);
    const stamped = api.events.sent.filter((e) => e.name === "task/stamped");
    expect(stamped.length).toBeGreaterThan(0);
    expect(new Set(stamped.map((e) => e.id)).size).toBe(1);
  });

  it("decideThroughLink past the page's check: the same decision is the first one's replay, another is refused as used", async () => {
    const { task, link } = await awaitingClient();
    const check = verifyStampToken({ token: link.path.slice("/stamp/".length), key: KEY, now: Date.now() });
    if (!check.ok) throw new Error(check.reason);
    const db = t.current.db;
    const first = await decideThroughLink(db, check.payload, { decision: "approve", actor: "client" });
    expect(first.repeated).toBe(false);
    const again = await decideThroughLink(db, check.payload, { decision: "approve", actor: "client" });
    expect(again).toMatchObject({ repeated: true, stampId: first.stampId });
    await expect(
      decideThroughLink(db, check.payload, { decision: "request_changes", note: "no", actor: "client" }),
    ).rejects.toMatchObject({ code: "CONFLICT", details: { reason: "used" } });
    expect(await statusOf(task.id)).toBe("done");
  });

  it("takes a change request with its note, and needs the note", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const without = await api.request(link.path, form({ decision: "request_changes" }));
    expect(without.status).toBe(400);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    const res = await api.request(
      link.path,
      form({ decision: "request_changes", note: "Call the last stage Closed." }),
    );
    expect(res.status).toBe(201);
    expect(await statusOf(task.id)).toBe("ready");
  });

  it("keeps a note's whole text, counting a browser's CRLF as one character, and refuses one over the limit", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    // 2,991 letters and 9 line breaks: 3,000 characters in the textarea, 3,009 as the browser submits it.
    const typed = `${Array.from({ length: 10 }, () => "x".repeat(299)).join("\n")}z`;
    expect(typed.length).toBe(3000);
    const tooLong = await api.request(
      link.path,
      form({ decision: "request_changes", note: `${typed}!`.replaceAll("\n", "\r\n") }),
    );
    expect(tooLong.status).toBe(400);
    const refusedPage = await tooLong.text();
    expect(refusedPage).toContain("The note is too long.");
    expect(refusedPage).toContain("3,001 characters; the limit is 3,000");
    expect(refusedPage).toContain("then press Request changes again");
    // What the client typed comes back in the box, not lost.
    expect(refusedPage).toContain(`${"x".repeat(299)}\n${"x".repeat(299)}`);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    // An approval with too long a note is told to press Approve again, not the other button.
    const approving = await api.request(link.path, form({ decision: "approve", note: `${typed}!` }));
    expect(approving.status).toBe(400);
    const approvingPage = await approving.text();
    expect(approvingPage).toContain("then press Approve again");
    expect(approvingPage).not.toContain("press Request changes");
    expect(await statusOf(task.id)).toBe("awaiting_client_review");

    const res = await api.request(
      link.path,
      form({ decision: "request_changes", note: typed.replaceAll("\n", "\r\n") }),
    );
    expect(res.status).toBe(201);
    const [s] = await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id));
    expect(s?.note).toBe(typed);
  });

  it("refuses a note with a NUL or another control character, showing the form again", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    for (const note of ["Rename\u0000 the stage", "Rename\u001b[31m the stage"]) {
      const res = await api.request(link.path, form({ decision: "request_changes", note }));
      expect(res.status).toBe(400);
      const body = await res.text();
      expect(body).toContain("The note holds a character that cannot be kept.");
      expect(body).toContain('aria-invalid="true"');
      expect(body).toMatch(/<textarea[^>]*>Rename(\[31m)? the stage<\/textarea>/);
    }
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    expect(await t.current.db.select().from(stamps).where(eq(stamps.taskId, task.id))).toHaveLength(0);
  });

  it("answers 400, not 500, to a body that is not a readable form", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const res = await api.request(link.path, {
      method: "POST",
      body: '--nope\r\nContent-Disposition: form-data; name="decision"\r\n\r\napprove',
      headers: { "content-type": "multipart/form-data; boundary=elsewhere" },
      token: null,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("The form could not be read");
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
  });

  it("explains tampered, unknown and expired links, changing nothing", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const flipped = link.path.at(-3) === "A" ? "B" : "A";
    const tampered = `${link.path.slice(0, -3)}${flipped}${link.path.slice(-2)}`;
    const bad = await api.request(tampered, form({ decision: "approve" }));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("not valid");
    const later = testApp(t.current.db, env);
    later.deps.now = () => new Date(Date.now() + 15 * 86_400_000);
    const expired = await later.request(link.path, { token: null });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain("expired");
    const otherKey = testApp(t.current.db, { STAMP_LINK_KEY: "z".repeat(40) });
    expect((await otherKey.request(link.path, form({ decision: "approve" }))).status).toBe(400);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
  });

  it("withdraws a link whose row is expired, and sends every page uncached, unframed and without a Referer", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    const page = await api.request(link.path, { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    await t.current.db
      .update(stampLinks)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(stampLinks.tokenId, link.tokenId));
    const withdrawn = await api.request(link.path, form({ decision: "approve" }));
    expect(withdrawn.status).toBe(410);
    expect(await withdrawn.text()).toContain("withdrawn");
    expect(withdrawn.headers.get("cache-control")).toBe("no-store");
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
  });

  it("answers 503 with a page when the server has no link key", async () => {
    const { link } = await awaitingClient();
    const res = await testApp(t.current.db).request(link.path, { token: null });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("not set up for client review links");
  });

  it("refuses a link to a superseded version, saying why", async () => {
    const api = testApp(t.current.db, env);
    const { task, link } = await awaitingClient();
    await t.current.db
      .update(tasks)
      .set({ deliverableHash: "c".repeat(64) })
      .where(eq(tasks.id, task.id));
    const res = await api.request(link.path, form({ decision: "approve" }));
    expect(res.status).toBe(409);
    expect(await res.text()).toContain("revised after this link was sent");
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
  });

  it("refuses a link from an earlier round when the very same bytes come back, and takes the new round's", async () => {
    const db = t.current.db;
    const api = testApp(db, env);
    const { task, link: first, hash } = await awaitingClient();
    // The client never used the first link: the team sent the work back, and the worker handed in the
    // same bytes again (same hash), approved inside once more.
    for (const to of ["ready", "working", "awaiting_internal_review", "awaiting_client_review"] as const)
      await transition(db, { taskId: task.id, to, key: freshKey(), actor: "test" });
    const second = await mintClientLink(
      db,
      { STAMP_LINK_KEY: KEY, STAMP_LINK_KEY_PREVIOUS: undefined, STAMP_LINK_TTL_DAYS: 14 },
      { taskId: task.id, deliverableHash: hash, now: new Date() },
    );

    const page = await api.request(first.path, { token: null });
    expect(page.status).toBe(409);
    expect(await page.text()).toContain("earlier round of review");
    const post = await api.request(first.path, form({ decision: "approve" }));
    expect(post.status).toBe(409);
    expect(await statusOf(task.id)).toBe("awaiting_client_review");
    // The stamp's own statement checks it too (a round can begin between the page's read and the stamp).
    const check = verifyStampToken({ token: first.path.slice("/stamp/".length), key: KEY, now: Date.now() });
    if (!check.ok) throw new Error(check.reason);
    await expect(
      decideThroughLink(db, check.payload, { decision: "approve", actor: "client" }),
    ).rejects.toMatchObject({
      code: "CONFLICT",
      details: { reason: "earlier_round" },
    });
    expect(await db.select().from(stamps).where(eq(stamps.taskId, task.id))).toEqual([]);

    const ok = await api.request(second.path, form({ decision: "approve" }));
    expect(ok.status).toBe(201);
    expect(await statusOf(task.id)).toBe("done");
  });
});
