// Slack interaction payloads as they really arrive, normalised to one stamp action (or a retry).
//
// The body is `application/x-www-form-urlencoded` with one `payload=` field holding JSON (spaces as
// `+`), verified first (verify.ts) and parsed here. The schemas are loose objects: Slack adds fields,
// and only the ones below are read. Real variations handled:
//   - block_actions from `container.type` `message`, `message_attachment` or `view` (a modal, or the
//     App Home tab, which has no `channel`, `message` or `response_url`);
//   - a button with no `value` (link buttons always; ours fall back to the block_id reference);
//   - `team` null on org-wide installs (the team is then `user.team_id` or `view.team_id`);
//   - view_submission with `response_urls` absent, empty, or holding entries (only when the modal has
//     a `response_url_enabled` input), so the message to update travels in `private_metadata`.
//
// Conventions (the message and modal builders must follow them):
//   action_id `stamp:approve`   button → kind "approve"
//   action_id `stamp:reject`    button → kind "reject"
//   action_id `stamp:changes`   button → kind "open_changes_modal" (needs trigger_id to open the modal)
//   button value  JSON `{"taskId":"task_…","hash":"<64 hex>","round"?:<n>}` (the version shown, and
//                 the stage entry's event id: the round of review the card belongs to);
//   block_id      `stamp:<taskId>:<hash>`, the fallback reference when a button carries no value;
//   modal         callback_id `stamp:changes`, private_metadata JSON
//                 `{"taskId","hash","round"?,"channelId"?,"messageTs"?,"responseUrl"?}` (from the click),
//                 the note in the input whose action_id is `stamp:note` → kind "request_changes".
//   action_id `task:retry`      button on a triage notice (lib/notify/blocks.ts) → a RetryAction;
//                 value JSON `{"taskId":"task_…"}`, fallback block_id `retry:<taskId>`.
// Any other action_id, callback_id or payload type is `ignored` (acknowledge it, change nothing).
import { z } from "zod";
import { findTextIssue } from "../text.ts";

export const STAMP_ACTIONS = {
  approve: "stamp:approve",
  reject: "stamp:reject",
  changes: "stamp:changes",
} as const;
export const RETRY_ACTION_ID = "task:retry";
export const CHANGES_CALLBACK_ID = "stamp:changes";
export const NOTE_ACTION_ID = "stamp:note";
export const NOTE_MAX = 3000; // Slack's plain_text_input max_length

export const TASK_ID_PATTERN = /^task_[0-9a-hjkmnp-tv-z]{26}$/;
export const HASH_PATTERN = /^[0-9a-f]{64}$/;

const id = z.string().min(1).max(255);
// Slack's response URLs are https on hooks.slack.com (hooks.slack-gov.com on GovSlack); anything else
// would make the app POST wherever a payload says, so it is refused.
const responseUrl = z.url({ protocol: /^https$/, hostname: /^hooks\.slack(-gov)?\.com$/ });

const user = z.looseObject({ id, team_id: id.optional() });
const team = z.looseObject({ id }).nullish();

const action = z.looseObject({
  action_id: id,
  block_id: z.string().max(255).optional(),
  type: z.string(),
  value: z.string().max(2000).optional(),
  action_ts: z.string().optional(),
});

const container = z.looseObject({
  type: z.enum(["message", "message_attachment", "view"]),
  message_ts: z.string().optional(),
  channel_id: z.string().optional(),
  view_id: z.string().optional(),
});

const blockActions = z.looseObject({
  type: z.literal("block_actions"),
  user,
  team,
  container,
  trigger_id: z.string().optional(),
  response_url: responseUrl.optional(),
  channel: z.looseObject({ id }).nullish(),
  message: z.looseObject({ ts: z.string() }).nullish(),
  view: z.looseObject({ id: z.string().optional(), team_id: z.string().optional() }).nullish(),
  actions: z.array(action).min(1),
});

const stateValue = z.looseObject({ type: z.string().optional(), value: z.string().nullish() });

const viewSubmission = z.looseObject({
  type: z.literal("view_submission"),
  user,
  team,
  trigger_id: z.string().optional(),
  view: z.looseObject({
    id,
    team_id: z.string().optional(),
    callback_id: z.string().optional(),
    private_metadata: z.string().optional(),
    state: z.looseObject({ values: z.record(z.string(), z.record(z.string(), stateValue)) }).optional(),
  }),
  response_urls: z
    .array(z.looseObject({ response_url: responseUrl, channel_id: z.string().optional() }))
    .nullish(),
});

const ref = z.object({
  taskId: z.string().regex(TASK_ID_PATTERN),
  hash: z.string().regex(HASH_PATTERN),
  round: z.number().int().positive().optional(),
});

const metadata = ref.extend({
  channelId: z.string().min(1).optional(),
  messageTs: z.string().min(1).optional(),
  responseUrl: responseUrl.optional(),
});

export type StampActionKind = "approve" | "reject" | "open_changes_modal" | "request_changes";

export interface StampAction {
  kind: StampActionKind;
  taskId: string;
  /** The deliverable version the clicker saw; a stamp for an older version is refused downstream. */
  deliverableHash: string;
  /** The round of review the card was posted for (its stage entry's event id), when it says. */
  round?: number;
  userId: string;
  teamId: string;
  /** Unique per click or submission: the key that makes writing the stamp idempotent. */
  idempotencyKey: string;
  surface: "message" | "message_attachment" | "view" | "modal_submission";
  actionTs?: string;
  triggerId?: string;
  responseUrl?: string;
  channelId?: string;
  messageTs?: string;
  /** The request-changes note, trimmed, 1..3000 characters. */
  note?: string;
}

/** A Retry click on a failed task's notice: one failed_needs_triage → ready, if the clicker may. */
export interface RetryAction {
  kind: "retry";
  taskId: string;
  userId: string;
  teamId: string;
  /** Unique per click: the transition's idempotency key is built from it. */
  idempotencyKey: string;
  surface: "message" | "message_attachment" | "view";
  actionTs?: string;
  responseUrl?: string;
  channelId?: string;
  messageTs?: string;
}

export type InteractionProblem = "malformed_body" | "malformed_payload" | "bad_reference" | "invalid_note";

export type ParsedInteraction =
  | { ok: true; action: StampAction }
  | { ok: true; retry: RetryAction }
  | { ok: true; ignored: string }
  | { ok: false; problem: InteractionProblem; reason: string };

const fail = (problem: InteractionProblem, reason: string): ParsedInteraction => ({
  ok: false,
  problem,
  reason,
});

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The task reference on a button: the value JSON, else `stamp:<taskId>:<hash>` in the block_id. */
function buttonRef(a: z.infer<typeof action>): z.infer<typeof ref> | undefined {
  if (a.value !== undefined) {
    const parsed = ref.safeParse(jsonOrUndefined(a.value));
    return parsed.success ? parsed.data : undefined;
  }
  const parts = (a.block_id ?? "").split(":");
  if (parts.length !== 3 || parts[0] !== "stamp") return undefined;
  const parsed = ref.safeParse({ taskId: parts[1], hash: parts[2] });
  return parsed.success ? parsed.data : undefined;
}

const retryRef = z.object({ taskId: z.string().regex(TASK_ID_PATTERN) });

/** The task on a Retry button: the value JSON, else `retry:<taskId>` in the block_id. */
function retryTaskOf(a: z.infer<typeof action>): string | undefined {
  const raw =
    a.value !== undefined
      ? jsonOrUndefined(a.value)
      : (() => {
          const parts = (a.block_id ?? "").split(":");
          return parts.length === 2 && parts[0] === "retry" ? { taskId: parts[1] } : undefined;
        })();
  const parsed = retryRef.safeParse(raw);
  return parsed.success ? parsed.data.taskId : undefined;
}

/** What every button click carries besides its reference: the click's own id and where it was. */
function clickOf(
  p: z.infer<typeof blockActions>,
  a: z.infer<typeof action>,
  teamId: string,
):
  | { ok: false; failed: ParsedInteraction }
  | { ok: true; idempotencyKey: string; fields: Record<string, string> } {
  // Without action_ts (Slack always sends it) the trigger_id is the next unique thing per click.
  const unique = a.action_ts ?? p.trigger_id;
  if (!unique) {
    return {
      ok: false,
      failed: fail("malformed_payload", "The click carries neither action_ts nor trigger_id."),
    };
  }
  const channelId = p.channel?.id ?? p.container.channel_id;
  const messageTs = p.container.message_ts ?? p.message?.ts;
  return {
    ok: true,
    idempotencyKey: `slack:${teamId}:${p.user.id}:${unique}`,
    fields: {
      ...(a.action_ts ? { actionTs: a.action_ts } : {}),
      ...(p.response_url ? { responseUrl: p.response_url } : {}),
      ...(channelId ? { channelId } : {}),
      ...(messageTs ? { messageTs } : {}),
    },
  };
}

function fromRetryClick(p: z.infer<typeof blockActions>, a: z.infer<typeof action>): ParsedInteraction {
  const taskId = retryTaskOf(a);
  if (!taskId) return fail("bad_reference", "The Retry button does not name a task.");
  const teamId = p.team?.id ?? p.user.team_id ?? p.view?.team_id;
  if (!teamId) return fail("malformed_payload", "The payload names no team.");
  const click = clickOf(p, a, teamId);
  if (!click.ok) return click.failed;
  return {
    ok: true,
    retry: {
      kind: "retry",
      taskId,
      userId: p.user.id,
      teamId,
      idempotencyKey: click.idempotencyKey,
      surface: p.container.type,
      ...click.fields,
    },
  };
}

const KIND_BY_ACTION: Record<string, StampActionKind> = {
  [STAMP_ACTIONS.approve]: "approve",
  [STAMP_ACTIONS.reject]: "reject",
  [STAMP_ACTIONS.changes]: "open_changes_modal",
};

function fromBlockActions(p: z.infer<typeof blockActions>): ParsedInteraction {
  const a = p.actions[0] as z.infer<typeof action>;
  if (a.action_id === RETRY_ACTION_ID) return fromRetryClick(p, a);
  const kind = KIND_BY_ACTION[a.action_id];
  if (!kind) return { ok: true, ignored: `action ${a.action_id} is not a stamp` };
  const r = buttonRef(a);
  if (!r) return fail("bad_reference", "The button does not name a task and deliverable version.");
  const teamId = p.team?.id ?? p.user.team_id ?? p.view?.team_id;
  if (!teamId) return fail("malformed_payload", "The payload names no team.");
  if (kind === "open_changes_modal" && !p.trigger_id) {
    return fail("malformed_payload", "A request-changes click carries no trigger_id to open the modal.");
  }
  const click = clickOf(p, a, teamId);
  if (!click.ok) return click.failed;
  return {
    ok: true,
    action: {
      kind,
      taskId: r.taskId,
      deliverableHash: r.hash,
      ...(r.round === undefined ? {} : { round: r.round }),
      userId: p.user.id,
      teamId,
      idempotencyKey: click.idempotencyKey,
      surface: p.container.type,
      ...(p.trigger_id ? { triggerId: p.trigger_id } : {}),
      ...click.fields,
    },
  };
}

function fromViewSubmission(p: z.infer<typeof viewSubmission>): ParsedInteraction {
  if (p.view.callback_id !== CHANGES_CALLBACK_ID) {
    return { ok: true, ignored: `view ${p.view.callback_id ?? "(no callback_id)"} is not a stamp` };
  }
  const meta = metadata.safeParse(jsonOrUndefined(p.view.private_metadata ?? ""));
  if (!meta.success) return fail("bad_reference", "The modal does not name a task and deliverable version.");
  const teamId = p.team?.id ?? p.user.team_id ?? p.view.team_id;
  if (!teamId) return fail("malformed_payload", "The payload names no team.");
  // Block ids may be regenerated when the modal is updated: find the note by its action_id.
  let note: string | undefined;
  for (const block of Object.values(p.view.state?.values ?? {})) {
    const input = block[NOTE_ACTION_ID];
    if (input) note = (input.value ?? "").trim();
  }
  if (!note) return fail("invalid_note", "Request changes needs a note saying what to change.");
  if (note.length > NOTE_MAX) return fail("invalid_note", `The note is longer than ${NOTE_MAX} characters.`);
  // A NUL cannot be stored and other control characters are never meant: refuse in the modal, by name.
  const issue = findTextIssue(note, { multiline: true });
  if (issue) return fail("invalid_note", `The note ${issue.message}; remove it and submit again.`);
  const fromUrls = p.response_urls?.[0];
  const responseUrl = fromUrls?.response_url ?? meta.data.responseUrl;
  const channelId = meta.data.channelId ?? fromUrls?.channel_id;
  return {
    ok: true,
    action: {
      kind: "request_changes",
      taskId: meta.data.taskId,
      deliverableHash: meta.data.hash,
      ...(meta.data.round === undefined ? {} : { round: meta.data.round }),
      userId: p.user.id,
      teamId,
      // One view is one decision: a resubmission of the same modal is the same stamp.
      idempotencyKey: `slack:${teamId}:${p.user.id}:view:${p.view.id}`,
      surface: "modal_submission",
      note,
      ...(p.trigger_id ? { triggerId: p.trigger_id } : {}),
      ...(responseUrl ? { responseUrl } : {}),
      ...(channelId ? { channelId } : {}),
      ...(meta.data.messageTs ? { messageTs: meta.data.messageTs } : {}),
    },
  };
}

/** The JSON of the single `payload=` field of a (verified) form-encoded interaction body. */
export function payloadJson(rawBody: string): { ok: true; json: unknown } | { ok: false; reason: string } {
  const fields = new URLSearchParams(rawBody).getAll("payload");
  if (fields.length !== 1) return { ok: false, reason: "The body must carry exactly one payload= field." };
  const json = jsonOrUndefined(fields[0] as string);
  if (json === undefined || json === null || typeof json !== "object" || Array.isArray(json)) {
    return { ok: false, reason: "The payload= field is not a JSON object." };
  }
  return { ok: true, json };
}

/** Parses a verified interaction body into a stamp action, a retry, an ignorable interaction, or a refusal. */
const clicker = z.object({
  type: z.literal("block_actions"),
  user: z.object({ id: z.string().min(1) }),
  channel: z.object({ id: z.string().min(1) }).optional(),
  container: z.object({ channel_id: z.string().min(1).optional() }).optional(),
});

/**
 * Who clicked, and in which channel, read from a block_actions payload even when the rest of it
 * cannot be used — so a refusal can still be told to the person (undefined for anything else).
 */
export function clickerOf(rawBody: string): { userId: string; channelId?: string } | undefined {
  const body = payloadJson(rawBody);
  if (!body.ok) return undefined;
  const p = clicker.safeParse(body.json);
  if (!p.success) return undefined;
  const channelId = p.data.channel?.id ?? p.data.container?.channel_id;
  return { userId: p.data.user.id, ...(channelId ? { channelId } : {}) };
}

export function parseInteraction(rawBody: string): ParsedInteraction {
  const body = payloadJson(rawBody);
  if (!body.ok) return fail("malformed_body", body.reason);
  const type = (body.json as { type?: unknown }).type;
  if (type === "block_actions") {
    const p = blockActions.safeParse(body.json);
    return p.success ? fromBlockActions(p.data) : fail("malformed_payload", describe(p.error));
  }
  if (type === "view_submission") {
    const p = viewSubmission.safeParse(body.json);
    return p.success ? fromViewSubmission(p.data) : fail("malformed_payload", describe(p.error));
  }
  return { ok: true, ignored: `payload type ${typeof type === "string" ? type : "(none)"} is not handled` };
}

function describe(error: z.ZodError): string {
  const first = error.issues[0];
  return `The interaction payload is not one Slack sends: ${first ? `${first.path.join(".") || "(root)"}: ${first.message}` : "invalid"}.`;
}
