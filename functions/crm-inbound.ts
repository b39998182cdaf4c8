// crm-inbound: a HubSpot ticket's stage changed (the webhook route emits this). Our own write's echo
// is recognised from crm_links (no HubSpot read) and dropped, like a ticket that already shows the
// task's state; a stage, pipeline or ticket foreman does not know is ignored and logged. A person's
// move becomes the command it means (client stamp, cancel, unblock, retry, skip) where the state
// machine allows it — a move to Done counts as the client's approval only from the project's client
// owner (the webhook names the mover) — otherwise it is refused: a `refusal` event, the task's stage
// pushed back to the ticket, a message in the task's Slack thread and a note on the ticket saying
// why. One run per ticket at a time.
import { applyCommand, classifyInbound, noteRefusalOnTicket, recordRefusedMove } from "../lib/crm/inbound.ts";
import { moverLabel } from "../lib/crm/owner.ts";
import { hubspotTicketStageChanged } from "../lib/events.ts";
import { notifyRefusedMove } from "../lib/notify/crm.ts";
import { inngest } from "./client.ts";

export const crmInbound = inngest.createFunction(
  {
    id: "crm-inbound",
    name: "Apply a HubSpot ticket move to its task",
    retries: 5,
    triggers: [hubspotTicketStageChanged],
    concurrency: [{ limit: 1, key: "event.data.ticketId" }],
  },
  async ({ event, step, deps, logger }) => {
    const change = {
      ticketId: event.data.ticketId,
      stageId: event.data.stageId,
      occurredAt: event.data.occurredAt,
    };
    // The webhook gives each change a deterministic id (HubSpot's composite key); a repeat is the same command.
    const eventId = event.id ?? `hubspot:${change.ticketId}:${change.stageId}:${change.occurredAt}`;
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
    const refused = {
      taskId,
      ticketId: change.ticketId,
      stageId: change.stageId,
      from: verdict.from,
      to: verdict.to,
      reason: refusal ?? "the move is not allowed",
      eventId,
      mover: moverLabel(mover),
    };
    await step.run("refuse", () => recordRefusedMove(deps, refused));
    await step.run("notify-slack", () => notifyRefusedMove(deps, refused));
    const noted = await step.run("note-ticket", () =>
      noteRefusalOnTicket(deps, { ...refused, dryRun: verdict.dryRun ?? false }),
    );
    return { outcome: "refused", reason: refused.reason, noted: noted.noted };
  },
);
