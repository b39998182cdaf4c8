// A fake Slack Web API for the methods foreman calls, with Slack's wire behaviour: POST /api/<method>,
// form-encoded (what WebClient sends, `blocks`/`view` as JSON strings) or JSON bodies, the token from
// `Authorization: Bearer` (or a form `token` field), HTTP 200 with `{ok:false,error}` for every platform
// error, HTTP 429 + Retry-After for rate limits, 404 for an unknown method, and `x-oauth-scopes` on each
// authenticated response (WebClient copies it to response_metadata.scopes; a request without a valid
// token has no scopes to report, so it gets none). The real client points at `url` via slackApiUrl.
//   chat.postMessage · chat.update · chat.postEphemeral   need chat:write
//   conversations.info                                    needs channels:read (groups:read if private)
//   views.open · auth.test                                need no scope
// State is plain and mutable (messages per channel, ephemerals, views, channels) so tests assert on what
// landed and arrange membership directly; `failNext` injects one Slack-shaped fault for one method.
import type { Context } from "hono";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { type FakeEnv, startFake } from "./server.ts";

export const FAKE_SLACK_TOKEN = "xoxb-1111-2222-fakeforemanbot";
export const FAKE_SLACK_TEAM = { id: "T0FAKE0001", name: "Foreman Test", domain: "foreman-test" } as const;
export const FAKE_SLACK_BOT = { userId: "U0FOREMAN1", botId: "B0FOREMAN1", name: "foreman" } as const;
export const FAKE_REVIEW_CHANNEL = "C0REVIEW001";
export const FAKE_REVIEWER = "U0REVIEWER1";
/** The scopes api/slack/manifest.yaml asks for: a fresh install of the app has exactly these. */
export const DEFAULT_SCOPES = ["chat:write", "channels:read", "groups:read"];

export interface FakeSlackChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isArchived: boolean;
  /** User ids in the channel; the bot is a member when FAKE_SLACK_BOT.userId is here. */
  members: Set<string>;
}

export interface FakeSlackMessage {
  ts: string;
  text: string;
  blocks?: unknown[];
  thread_ts?: string;
  user?: string;
  bot_id?: string;
  edited?: { user: string; ts: string };
}

export interface FakeSlackEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  message_ts: string;
}

export interface FakeSlackView {
  id: string;
  trigger_id: string;
  /** The view as sent (parsed from JSON). */
  view: Record<string, unknown>;
}

export interface FakeSlackCall {
  /** The Web API method, e.g. `chat.postMessage`. */
  method: string;
  /** The arguments as received: form values are strings (blocks/view JSON-encoded), JSON bodies as sent. */
  body: Record<string, unknown>;
  contentType: string;
  at: number;
}

export type FakeSlackFault =
  | { status: 429; retryAfterS: number }
  | { status: 500 }
  | { error: string; extra?: Record<string, unknown> };

export interface FakeSlackOptions {
  token?: string;
  scopes?: string[];
  /** Extra channels beside the default review channel (bot and FAKE_REVIEWER are members of it). */
  channels?: { id: string; name: string; isPrivate?: boolean; isArchived?: boolean; members?: string[] }[];
}

export interface FakeSlack {
  readonly url: string;
  readonly token: string;
  readonly calls: FakeSlackCall[];
  readonly messages: Map<string, FakeSlackMessage[]>;
  readonly ephemerals: FakeSlackEphemeral[];
  readonly views: FakeSlackView[];
  readonly channels: Map<string, FakeSlackChannel>;
  /** trigger_ids views.open answers `expired_trigger_id` for (Slack's are valid for 3 s). */
  readonly expiredTriggers: Set<string>;
  callsTo(method: string): FakeSlackCall[];
  scopes(): string[];
  setScopes(list: string[]): void;
  addChannel(c: {
    id: string;
    name: string;
    isPrivate?: boolean;
    isArchived?: boolean;
    members?: string[];
  }): FakeSlackChannel;
  /** The next call to `method` gets this fault instead of its real answer (once). */
  failNext(method: string, fault: FakeSlackFault): void;
  close(): Promise<void>;
}

// Which scope each method needs; `null` means none (auth.test and views.open work with any bot token).
const SCOPE_OF: Record<string, ((channel: FakeSlackChannel | undefined) => string) | null> = {
  "chat.postMessage": () => "chat:write",
  "chat.update": () => "chat:write",
  "chat.postEphemeral": () => "chat:write",
  "conversations.info": (c) => (c?.isPrivate ? "groups:read" : "channels:read"),
  "views.open": null,
  "auth.test": null,
};

const MAX_TEXT = 40_000; // Slack truncates above this and answers msg_too_long far above; we refuse
const MAX_BLOCKS = 50; // per message (modals take 100)

type Args = Record<string, unknown>;
type Answer = { ok: true; [k: string]: unknown } | { ok: false; error: string; [k: string]: unknown };

/** Slack takes structured arguments as JSON strings in form bodies and as values in JSON bodies. */
function structured(v: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof v !== "string") return { ok: true, value: v };
  try {
    return { ok: true, value: JSON.parse(v) };
  } catch {
    return { ok: false };
  }
}

const isBlockList = (v: unknown): v is Record<string, unknown>[] =>
  Array.isArray(v) &&
  v.every((b) => typeof b === "object" && b !== null && typeof (b as { type?: unknown }).type === "string");

export async function startSlackFake(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = opts.token ?? FAKE_SLACK_TOKEN;
  let scopes = [...(opts.scopes ?? DEFAULT_SCOPES)];
  const calls: FakeSlackCall[] = [];
  const messages = new Map<string, FakeSlackMessage[]>();
  const ephemerals: FakeSlackEphemeral[] = [];
  const views: FakeSlackView[] = [];
  const channels = new Map<string, FakeSlackChannel>();
  const expiredTriggers = new Set<string>();
  const faults = new Map<string, FakeSlackFault[]>();
  let lastMicros = 0;
  let viewSeq = 0;

  // Slack's ts is "<unix seconds>.<6 digits>", unique and increasing within a channel.
  const nextTs = () => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, "0")}`;
  };

  const addChannel: FakeSlack["addChannel"] = (c) => {
    const channel: FakeSlackChannel = {
      id: c.id,
      name: c.name,
      isPrivate: c.isPrivate ?? false,
      isArchived: c.isArchived ?? false,
      members: new Set(c.members ?? [FAKE_SLACK_BOT.userId]),
    };
    channels.set(c.id, channel);
    return channel;
  };
  addChannel({
    id: FAKE_REVIEW_CHANNEL,
    name: "foreman-review",
    members: [FAKE_SLACK_BOT.userId, FAKE_REVIEWER],
  });
  for (const c of opts.channels ?? []) addChannel(c);

  // A private channel the bot is not in is invisible to it: Slack says channel_not_found, not forbidden.
  const visible = (id: unknown): FakeSlackChannel | undefined => {
    const c = typeof id === "string" ? channels.get(id) : undefined;
    return c && (!c.isPrivate || c.members.has(FAKE_SLACK_BOT.userId)) ? c : undefined;
  };

  /** The checks chat.postMessage and chat.postEphemeral share: an error answer, or the parsed blocks. */
  const postable = (c: FakeSlackChannel | undefined, args: Args): Answer | { blocks?: unknown[] } => {
    if (!c) return { ok: false, error: "channel_not_found" };
    if (c.isArchived) return { ok: false, error: "is_archived" };
    // Without chat:write.public (foreman does not ask for it) a bot posts only where it is a member.
    if (!c.members.has(FAKE_SLACK_BOT.userId)) return { ok: false, error: "not_in_channel" };
    const text = typeof args.text === "string" ? args.text : "";
    if (text.length > MAX_TEXT) return { ok: false, error: "msg_too_long" };
    if (args.blocks === undefined || args.blocks === "") {
      return text ? {} : { ok: false, error: "no_text" };
    }
    const parsed = structured(args.blocks);
    if (!parsed.ok) return { ok: false, error: "invalid_blocks_format" };
    if (!isBlockList(parsed.value) || parsed.value.length > MAX_BLOCKS) {
      return { ok: false, error: "invalid_blocks" };
    }
    if (!text && parsed.value.length === 0) return { ok: false, error: "no_text" };
    return { blocks: parsed.value };
  };
  const isAnswer = (v: Answer | { blocks?: unknown[] }): v is Answer => "ok" in v;

  const methods: Record<string, (args: Args) => Answer> = {
    "auth.test": () => ({
      ok: true,
      url: `https://${FAKE_SLACK_TEAM.domain}.slack.com/`,
      team: FAKE_SLACK_TEAM.name,
      user: FAKE_SLACK_BOT.name,
      team_id: FAKE_SLACK_TEAM.id,
      user_id: FAKE_SLACK_BOT.userId,
      bot_id: FAKE_SLACK_BOT.botId,
      is_enterprise_install: false,
    }),

    "conversations.info": (args) => {
      const c = visible(args.channel);
      if (!c) return { ok: false, error: "channel_not_found" };
      return {
        ok: true,
        channel: {
          id: c.id,
          name: c.name,
          is_channel: !c.isPrivate,
          is_group: c.isPrivate,
          is_im: false,
          is_private: c.isPrivate,
          is_archived: c.isArchived,
          is_member: c.members.has(FAKE_SLACK_BOT.userId),
          created: 1_700_000_000,
          num_members: c.members.size,
        },
      };
    },

    "chat.postMessage": (args) => {
      const c = visible(args.channel);
      const checked = postable(c, args);
      if (isAnswer(checked)) return checked;
      const channel = c as FakeSlackChannel;
      const message: FakeSlackMessage = {
        ts: nextTs(),
        text: typeof args.text === "string" ? args.text : "",
        user: FAKE_SLACK_BOT.userId,
        bot_id: FAKE_SLACK_BOT.botId,
        ...(checked.blocks ? { blocks: checked.blocks } : {}),
        ...(typeof args.thread_ts === "string" && args.thread_ts ? { thread_ts: args.thread_ts } : {}),
      };
      const list = messages.get(channel.id) ?? [];
      list.push(message);
      messages.set(channel.id, list);
      return {
        ok: true,
        channel: channel.id,
        ts: message.ts,
        message: { type: "message", team: FAKE_SLACK_TEAM.id, ...message },
      };
    },

    "chat.update": (args) => {
      const c = visible(args.channel);
      if (!c) return { ok: false, error: "channel_not_found" };
      const message = messages.get(c.id)?.find((m) => m.ts === args.ts);
      if (!message) return { ok: false, error: "message_not_found" };
      // A bot token may edit only the bot's own messages.
      if (message.user !== FAKE_SLACK_BOT.userId) return { ok: false, error: "cant_update_message" };
      if (c.isArchived) return { ok: false, error: "is_archived" };
      const text = typeof args.text === "string" ? args.text : undefined;
      let blocks: unknown[] | undefined;
      if (args.blocks !== undefined && args.blocks !== "") {
        const parsed = structured(args.blocks);
        if (!parsed.ok) return { ok: false, error: "invalid_blocks_format" };
        if (!isBlockList(parsed.value) || parsed.value.length > MAX_BLOCKS) {
          return { ok: false, error: "invalid_blocks" };
        }
        blocks = parsed.value;
      }
      if (!text && !blocks?.length) return { ok: false, error: "no_text" };
      if (text !== undefined) message.text = text;
      // An empty list removes the blocks (how a decided card loses its buttons).
      if (blocks !== undefined) {
        if (blocks.length) message.blocks = blocks;
        else delete message.blocks;
      }
      message.edited = { user: FAKE_SLACK_BOT.userId, ts: nextTs() };
      return {
        ok: true,
        channel: c.id,
        ts: message.ts,
        text: message.text,
        message: { type: "message", team: FAKE_SLACK_TEAM.id, ...message },
      };
    },

    "chat.postEphemeral": (args) => {
      const c = visible(args.channel);
      const checked = postable(c, args);
      if (isAnswer(checked)) return checked;
      const channel = c as FakeSlackChannel;
      if (typeof args.user !== "string" || !args.user) {
        return {
          ok: false,
          error: "invalid_arguments",
          response_metadata: { messages: ["[ERROR] missing required field: user"] },
        };
      }
      if (!channel.members.has(args.user)) return { ok: false, error: "user_not_in_channel" };
      const ephemeral: FakeSlackEphemeral = {
        channel: channel.id,
        user: args.user,
        text: typeof args.text === "string" ? args.text : "",
        message_ts: nextTs(),
        ...(checked.blocks ? { blocks: checked.blocks } : {}),
      };
      ephemerals.push(ephemeral);
      return { ok: true, message_ts: ephemeral.message_ts };
    },

    "views.open": (args) => {
      const invalid = (why: string): Answer => ({
        ok: false,
        error: "invalid_arguments",
        response_metadata: { messages: [`[ERROR] ${why}`] },
      });
      const trigger = args.trigger_id;
      if (typeof trigger !== "string" || trigger === "") return invalid("missing required field: trigger_id");
      if (args.view === undefined || args.view === "") return invalid("missing required field: view");
      const parsed = structured(args.view);
      const v = parsed.ok ? parsed.value : undefined;
      if (typeof v !== "object" || v === null || Array.isArray(v))
        return invalid("failed to match all allowed schemas [json-pointer:/view]");
      const view = v as Record<string, unknown>;
      if (view.type !== "modal") return invalid("must be a modal view [json-pointer:/view/type]");
      if (typeof view.title !== "object" || view.title === null)
        return invalid("missing required field: title [json-pointer:/view]");
      if (!isBlockList(view.blocks) || view.blocks.length > 100)
        return invalid("invalid blocks [json-pointer:/view/blocks]");
      if (expiredTriggers.has(trigger)) return { ok: false, error: "expired_trigger_id" };
      viewSeq += 1;
      const id = `V0FAKE${String(viewSeq).padStart(5, "0")}`;
      views.push({ id, trigger_id: trigger, view });
      return {
        ok: true,
        view: {
          id,
          team_id: FAKE_SLACK_TEAM.id,
          app_id: "A0FOREMAN1",
          bot_id: FAKE_SLACK_BOT.botId,
          hash: `${Date.now()}.fakehash`,
          state: { values: {} },
          private_metadata: "",
          callback_id: "",
          ...view,
        },
      };
    },
  };

  async function argsOf(c: Context<FakeEnv>): Promise<{ args: Args; contentType: string }> {
    const contentType = c.req.header("content-type") ?? "";
    const args: Args = Object.fromEntries(new URL(c.req.url).searchParams);
    const raw = await c.req.text();
    if (contentType.startsWith("application/json")) {
      const parsed = structured(raw);
      if (parsed.ok && typeof parsed.value === "object" && parsed.value !== null) {
        Object.assign(args, parsed.value);
      }
    } else if (raw) {
      Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
    }
    return { args, contentType };
  }

  const fake = await startFake((app) => {
    app.on(["GET", "POST"], "/api/:method", async (c) => {
      const method = c.req.param("method");
      const { args, contentType } = await argsOf(c);
      calls.push({ method, body: args, contentType, at: Date.now() });

      const fault = faults.get(method)?.shift();
      if (fault && "status" in fault) {
        if (fault.status === 429) {
          return c.json({ ok: false, error: "ratelimited" }, 429, {
            "Retry-After": String(fault.retryAfterS),
          });
        }
        return c.text("Internal Server Error", 500);
      }

      const handler = methods[method];
      if (!handler) return c.json({ ok: false, error: "unknown_method", req_method: method }, 404);

      // Slack takes the token from the header, or (form bodies only) from a `token` field.
      const header = c.req.header("authorization");
      const given = header?.startsWith("Bearer ")
        ? header.slice("Bearer ".length)
        : contentType.startsWith("application/json")
          ? undefined
          : (args.token as string | undefined);
      if (!given) return c.json({ ok: false, error: "not_authed" }, 200);
      if (given !== token) return c.json({ ok: false, error: "invalid_auth" }, 200);

      const headers = { "x-oauth-scopes": scopes.join(",") };
      if (fault) return c.json({ ok: false, error: fault.error, ...fault.extra }, 200, headers);

      const scopeOf = SCOPE_OF[method];
      if (scopeOf) {
        const needed = scopeOf(visible(args.channel));
        if (!scopes.includes(needed)) {
          return c.json({ ok: false, error: "missing_scope", needed, provided: scopes.join(",") }, 200, {
            ...headers,
            "x-accepted-oauth-scopes": needed,
          });
        }
      }
      return c.json(handler(args), 200, headers);
    });
  });

  return {
    url: `${fake.url}/api/`,
    token,
    calls,
    messages,
    ephemerals,
    views,
    channels,
    expiredTriggers,
    callsTo: (method) => calls.filter((c) => c.method === method),
    scopes: () => [...scopes],
    setScopes: (list) => {
      scopes = [...list];
    },
    addChannel,
    failNext: (method, fault) => {
      const list = faults.get(method) ?? [];
      list.push(fault);
      faults.set(method, list);
    },
    close: () => fake.close(),
  };
}

/**
 * One fake per test file: started before the file's tests, closed after them, its call log and
 * messages cleared before each test. The returned object reads through to the running fake.
 */
export function useSlackFake(opts: FakeSlackOptions = {}): FakeSlack {
  let current: FakeSlack | undefined;
  beforeAll(async () => {
    current = await startSlackFake(opts);
  });
  afterAll(async () => {
    await current?.close();
  });
  beforeEach(() => {
    current?.calls.splice(0);
    current?.messages.clear();
  });
  return new Proxy({} as FakeSlack, {
    get(_target, key) {
      if (!current) throw new Error("useSlackFake: the fake is started in beforeAll; use it inside tests");
      const value = Reflect.get(current, key);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
}
