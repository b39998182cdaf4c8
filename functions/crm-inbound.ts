// crm-inbound: a HubSpot ticket's stage changed (the webhook route emits this). Our own write's echo
// is recognised from crm_links (no HubSpot read) and dropped, like a ticket that already shows the
// task's state; a stage, pipeline or ticket foreman does not know is ignored and logged. A person's
// move becomes the command it means (client stamp, cancel, unblock, retry, skip) where the state
// machine allows it — a move to Done counts as the client's approval only from the project's client
// owner (the webhook names the mover) — otherwise it is refused: a `refusal` event, the task's stage
// pushed back to the ticket, a message in the task's Slack thread and a note on the ticket saying
// why. One run per ticket at a time; a run out of retries records its move as refused (onFailure:
// the refusal, the stage put back, the Slack thread told — no ticket note).
import { applyCommand, classifyInbound, noteRefusalOnTicket, recordRefusedMove } from "../lib/crm/inbound.ts";
import { moverLabel } from "../lib/crm/owner.ts";
import { hubspotTicketStageChanged } from "../lib/events.ts";
import { notifyRefusedMove } from "../lib/notify/crm.ts";
import type { TaskState } from "../lib/states.ts";
import { inngest } from "./client.ts";

type StageChangeData = {
  ticketId: string;
  stageId: string;
  occurredAt: number;
  sourceId?: string | undefined;
  changeSource?: string | undefined;
};
const changeOf = (d: StageChangeData) => ({
  ticketId: d.ticketId,
  stageId: d.stageId,
  occurredAt: d.occurredAt,
  changeSource: d.changeSource,
});
// The webhook gives each change a deterministic id (HubSpot's composite key); a repeat is the same command.
const stageChangeId = (id: string | undefined, c: StageChangeData) =>
  id ?? `hubspot:${c.ticketId}:${c.stageId}:${c.occurredAt}`;

/** The refusal of a stage change: what recordRefusedMove, the Slack notice and the ticket note take. */
const refusedMove = (
  d: StageChangeData,
  verdict: { taskId?: string | undefined; from: TaskState; to: TaskState },
  eventId: string,
  reason: string,
) => ({
  taskId: verdict.taskId as string,
  ticketId: d.ticketId,
  stageId: d.stageId,
  from: verdict.from,
  to: verdict.to,
  reason,
  eventId,
  mover: moverLabel({ sourceId: d.sourceId, changeSource: d.changeSource }),
});

export const crmInbound = inngest.createFunction(
  {
    id: "crm-inbound",
    name: "Apply a HubSpot ticket move to its task",
    retries: 5,
    triggers: [hubspotTicketStageChanged],
    concurrency: [{ limit: 1, key: "event.data.ticketId" }],
    // Out of retries (the database away for longer, a bug): the move must not be lost in silence — a
    // client's Done would stay on the ticket while the task waits. It is refused like any move foreman
    // cannot take: the refusal in the task's log, the ticket put back to the task's stage, the
    // task's Slack thread told (one of each per stage change, also if the run got that far itself).
    onFailure: async ({ event, error, step, deps }) => {
      const failed = event.data.event as { id?: string; data: StageChangeData };
      const change = changeOf(failed.data);
      const eventId = stageChangeId(failed.id, change);
      const verdict = await step.run("classify", () => classifyInbound(deps, change));
      if (verdict.kind !== "command" && verdict.kind !== "refused") return { outcome: verdict.kind };
      const refused = refusedMove(
        failed.data,
        verdict,
        eventId,
        `foreman could not apply it (${error.message.slice(0, 300)}); the ticket is put back to the task's stage: move it again`,
      );
      await step.run("refuse", () => recordRefusedMove(deps, refused));
      await step.run("notify-slack", () => notifyRefusedMove(deps, refused));
      return { outcome: "refused", reason: refused.reason };
    },
  },
  async ({ event, step, deps, logger }) => {
    const change = changeOf(event.data);
    const eventId = stageChangeId(event.id, change);
    const verdict = await step.run("classify", () => classifyInbound(deps, change));
    if (verdict.kind === "ignored") {
      logger.info("crm-inbound: ignored", { ...change, reason: verdict.reason });
      return { outcome: "ignored", reason: verdict.reason };
    }
    if (verdict.kind === "echo" || verdict.kind === "in_step") return { outcome: verdict.kind };
    const taskId = verdict.taskId as string;
    const mover = { sourceId: event.data.sourceId, changeSource: event.data.changeSource };

    let refusal = verdict.kind === "refused" ? verdict.reason : undefined;
    if (verdict.kind === "command") {
      const applied = await step.run("apply", () =>
        applyCommand(deps, {
          taskId,
          command: verdict.command,
          from: verdict.from,
          to: verdict.to,
          eventId,
          portalId: event.data.portalId,
          mover,
        }),
      );
      if (applied.applied) return { outcome: "applied", command: verdict.command.kind, state: applied.to };
      refusal = applied.reason;
    }
    const refused = refusedMove(event.data, verdict, eventId, refusal ?? "the move is not allowed");
    await step.run("refuse", () => recordRefusedMove(deps, refused));
    await step.run("notify-slack", () => notifyRefusedMove(deps, refused));
    const noted = await step.run("note-ticket", () =>
      noteRefusalOnTicket(deps, { ...refused, dryRun: verdict.dryRun ?? false }),
    );
    return { outcome: "refused", reason: refused.reason, noted: noted.noted };
  },
);
