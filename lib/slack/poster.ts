// The one place a task's Slack writer is chosen, as lib/tools/context.ts chooses the CRM writer: in
// dry-run (FOREMAN_DRY_RUN or the task's dry_run) every post, update, ephemeral and modal becomes a
// `would_do` task event holding the exact request (channel, text, blocks), and nothing reaches Slack;
// otherwise the live client. Without SLACK_BOT_TOKEN outside dry-run there is no writer, and callers
// say so in the task's log rather than pretending a message went out.
import type { AppDb } from "../../db/types.ts";
import type { Config } from "../config.ts";
import { appendEvents } from "../tasks/event-log.ts";
import { isDryRun } from "../tools/context.ts";
import type { SlackClient } from "./client.ts";

/** The writes a task's Slack traffic needs (setup calls are not part of it). */
export type SlackPoster = Pick<SlackClient, "postMessage" | "updateMessage" | "postEphemeral" | "openView">;

export type TaskSlack =
  | { mode: "live" | "would_do"; poster: SlackPoster }
  | { mode: "unconfigured"; poster: undefined };

/** The recording twin: each call is one `would_do` event with the request Slack would have received. */
export function recordingSlack(db: AppDb, taskId: string, actor: string): SlackPoster {
  const record = async (method: string, body: Record<string, unknown>): Promise<number> => {
    const [id] = await appendEvents(db, [
      { taskId, actor, kind: "would_do", payload: { method, path: `slack:${method}`, body } },
    ]);
    return id as number;
  };
  return {
    postMessage: async (m) => {
      const id = await record("chat.postMessage", {
        channel: m.channel,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
        ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
      });
      // A ts that names the WOULD_DO record, so a later update of "this message" is traceable.
      return { channel: m.channel, ts: `would_do.${id}` };
    },
    updateMessage: async (m) => {
      await record("chat.update", {
        channel: m.channel,
        ts: m.ts,
        text: m.text,
        ...(m.blocks ? { blocks: m.blocks } : {}),
      });
    },
    postEphemeral: async (m) => {
      await record("chat.postEphemeral", { channel: m.channel, user: m.user, text: m.text });
    },
    openView: async (m) => {
      await record("views.open", { trigger_id: m.triggerId, view: m.view });
    },
  };
}

export function slackFor(
  deps: { config: Pick<Config, "FOREMAN_DRY_RUN">; db: AppDb; slack: SlackClient | undefined },
  task: { id: string; dryRun: boolean },
  actor = "foreman",
): TaskSlack {
  if (isDryRun(deps.config, task))
    return { mode: "would_do", poster: recordingSlack(deps.db, task.id, actor) };
  if (!deps.slack) return { mode: "unconfigured", poster: undefined };
  return { mode: "live", poster: deps.slack };
}
