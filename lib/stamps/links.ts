// Client stamp links, on top of the signed tokens (link.ts): minting one records it in `stamp_links`
// (one statement); opening one verifies the token and reads what the page shows; deciding through
// one applies the stamp with the token id as its source reference — so the stamps unique index makes
// the link single-use in the database — then records when and by whom it was used. A link belongs to
// one round of client review: once the task re-enters the stage (the same bytes handed in again have
// the same hash), an older link decides nothing, checked by the page and by the stamp's own statement.
import { sql } from "drizzle-orm";
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import { DomainError, isDomainError } from "../errors.ts";
import { latestEntrySql } from "../review/stamp-wait.ts";
import { type AppliedStamp, applyStamp, EARLIER_ROUND, type StampDecision } from "./apply.ts";
import { createStampLink, type StampLinkPayload, verifyStampToken } from "./link.ts";

type LinkConfig = Pick<Config, "STAMP_LINK_KEY" | "STAMP_LINK_KEY_PREVIOUS" | "STAMP_LINK_TTL_DAYS">;

const keyOf = (config: LinkConfig): string => {
  if (!config.STAMP_LINK_KEY) {
    throw new DomainError("CONFIG", "Client stamp links are not configured on this server (STAMP_LINK_KEY).");
  }
  return config.STAMP_LINK_KEY;
};

/** Mints a link for the client to stamp the task's current deliverable; returns its path. */
export async function mintClientLink(
  db: AppDb,
  config: LinkConfig,
  input: { taskId: string; deliverableHash: string; now: Date; seed?: string },
): Promise<{ path: string; tokenId: string; expiresAt: Date }> {
  const link = createStampLink({
    key: keyOf(config),
    taskId: input.taskId,
    deliverableHash: input.deliverableHash,
    now: input.now.getTime(),
    ttlS: config.STAMP_LINK_TTL_DAYS * 86_400,
    ...(input.seed !== undefined ? { seed: input.seed } : {}),
  });
  await db.execute(sql`
    insert into stamp_links (token_id, task_id, stage, deliverable_hash, expires_at)
    values (${link.tokenId}, ${input.taskId}, 'client', ${input.deliverableHash}, ${link.expiresAt.toISOString()}::timestamptz)
    on conflict (token_id) do nothing`);
  return { path: `/stamp/${link.token}`, tokenId: link.tokenId, expiresAt: link.expiresAt };
}

export type LinkView =
  | {
      ok: true;
      payload: StampLinkPayload;
      task: { id: string; title: string; status: string };
      deliverable: { markdown: string; result: unknown; version: number } | null;
    }
  | {
      ok: false;
      status: 400 | 404 | 409 | 410;
      title: string;
      reason: string;
      /** The task a genuine link named, when the refusal is about it (used, replaced, moved on). */
      taskId?: string;
    };

/** What a link shows, or why it shows nothing. Never trusts the token beyond its signature. */
export async function openLink(db: AppDb, config: LinkConfig, token: string, now: Date): Promise<LinkView> {
  const check = verifyStampToken({
    token,
    key: keyOf(config),
    previousKey: config.STAMP_LINK_KEY_PREVIOUS,
    now: now.getTime(),
  });
  if (!check.ok) {
    const status = check.problem === "expired" ? 410 : 400;
    return {
      ok: false,
      status,
      title: check.problem === "expired" ? "This link has expired" : "This link is not valid",
      reason: check.reason,
    };
  }
  const p = check.payload;
  const result = await db.execute(sql`
    select t.id, t.title, t.status, t.deliverable_hash, l.used_at, l.used_by, l.expires_at,
           l.created_at < (select en.created_at from (${latestEntrySql(p.task, "client")}) en) as earlier_round,
           d.markdown, d.result, d.version
      from stamp_links l join tasks t on t.id = l.task_id
      left join deliverables d on d.task_id = t.id and d.hash = l.deliverable_hash
     where l.token_id = ${p.tid} and l.task_id = ${p.task}
     order by d.version desc limit 1`);
  const [row] = (
    result as unknown as {
      rows: {
        id: string;
        title: string;
        status: string;
        deliverable_hash: string | null;
        used_at: string | Date | null;
        used_by: string | null;
        expires_at: string | Date;
        earlier_round: boolean | null;
        markdown: string | null;
        result: unknown;
        version: number | null;
      }[];
    }
  ).rows;
  if (!row)
    return {
      ok: false,
      status: 404,
      title: "This link is not known",
      reason: "No stamp link with this id was issued.",
    };
  // The row's expiry, not only the token's: setting it withdraws a link sent to the wrong person.
  if (new Date(row.expires_at).getTime() <= now.getTime()) {
    return {
      ok: false,
      status: 410,
      title: "This link has expired",
      taskId: row.id,
      reason: "It was withdrawn or is past its date. Ask for a new link if the work still waits for you.",
    };
  }
  if (row.used_at) {
    return {
      ok: false,
      status: 410,
      title: "This link was already used",
      taskId: row.id,
      reason: `A decision was made through it on ${new Date(row.used_at).toUTCString()}${row.used_by ? ` by ${row.used_by}` : ""}.`,
    };
  }
  if (row.deliverable_hash !== p.hash) {
    return {
      ok: false,
      status: 409,
      title: "This version has been replaced",
      taskId: row.id,
      reason: "The work was revised after this link was sent. A link to the current version will follow.",
    };
  }
  if (row.status !== "awaiting_client_review") {
    return {
      ok: false,
      status: 409,
      title: "Nothing to decide",
      taskId: row.id,
      reason: `The task is ${row.status.replaceAll("_", " ")} now.`,
    };
  }
  if (row.earlier_round) {
    return {
      ok: false,
      status: 409,
      title: "This link is from an earlier round",
      taskId: row.id,
      reason: EARLIER_ROUND,
    };
  }
  return {
    ok: true,
    payload: p,
    task: { id: row.id, title: row.title, status: row.status },
    deliverable:
      row.markdown === null
        ? null
        : { markdown: row.markdown, result: row.result, version: Number(row.version) },
  };
}

/** What the first decision through a link did, in the client's words. */
const DECIDED: Record<string, string> = {
  done: "approved",
  ready: "changes requested",
  cancelled: "rejected",
};

export interface LinkDecision extends AppliedStamp {
  /** The same decision through the same link again (a double click, a resubmitted form): its replay. */
  repeated: boolean;
}

/**
 * Decides through a link: the stamp (first decision wins), then the link marked used. The same
 * decision again is the first one's replay (`repeated`); another decision through a link already used
 * is refused with reason `used`, in the client's words — a double click on the other button, say,
 * arriving before the page learnt the link was spent.
 */
export async function decideThroughLink(
  db: AppDb,
  payload: StampLinkPayload,
  input: { decision: StampDecision; note?: string; actor: string },
): Promise<LinkDecision> {
  let applied: AppliedStamp;
  try {
    applied = await applyStamp(db, {
      taskId: payload.task,
      stage: "client",
      decision: input.decision,
      deliverableHash: payload.hash,
      channel: "link",
      actor: input.actor,
      sourceRef: payload.tid,
      linkId: payload.tid,
      ...(input.note ? { note: input.note } : {}),
    });
  } catch (err) {
    const details = (isDomainError(err) ? err.details : undefined) as
      | { reason?: string; to?: string }
      | undefined;
    if (isDomainError(err) && err.code === "CONFLICT" && details?.reason === "key_reused") {
      const first = DECIDED[details.to ?? ""] ?? details.to ?? "decided";
      throw new DomainError(
        "CONFLICT",
        `A decision was already made through this link (${first}). It stands; this one was not recorded.`,
        { details: { reason: "used" }, cause: err },
      );
    }
    throw err;
  }
  await db.execute(
    sql`update stamp_links set used_at = now(), used_by = ${input.actor} where token_id = ${payload.tid} and used_at is null`,
  );
  return { ...applied, repeated: applied.transition.replayed };
}
