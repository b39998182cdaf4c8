// Reading a ticket for intake: subject, content, priority, pipeline and stage, the task_id foreman
// writes on the tickets it creates for its own tasks, and its first associated company (which
// becomes the task's project). Failures are DomainErrors (errors.ts).
import type { HubSpotClient } from "./client.ts";
import { fromHubSpotError } from "./errors.ts";

export interface TicketForIntake {
  id: string;
  subject: string | null;
  content: string | null;
  /** HubSpot's own ticket priority: LOW, MEDIUM, HIGH, URGENT (or null). */
  priority: string | null;
  pipeline: string | null;
  stage: string | null;
  /** Set on a ticket foreman created (or synced) for a task: that task's id. */
  taskId: string | null;
  company: { id: string; name: string | null; domain: string | null } | null;
}

const TICKET_PROPERTIES = [
  "subject",
  "content",
  "hs_ticket_priority",
  "hs_pipeline",
  "hs_pipeline_stage",
  "task_id",
];

export async function fetchTicketForIntake(
  client: HubSpotClient,
  ticketId: string,
): Promise<TicketForIntake> {
  let ticket: Awaited<ReturnType<typeof client.crm.tickets.basicApi.getById>>;
  try {
    ticket = await client.crm.tickets.basicApi.getById(ticketId, TICKET_PROPERTIES, undefined, ["companies"]);
  } catch (err) {
    throw fromHubSpotError(err, `Ticket ${ticketId}`);
  }
  const p = ticket.properties;
  const companyId = ticket.associations?.companies?.results?.[0]?.id;
  let company: TicketForIntake["company"] = null;
  if (companyId) {
    try {
      const c = await client.crm.companies.basicApi.getById(companyId, ["name", "domain"]);
      company = { id: c.id, name: c.properties.name ?? null, domain: c.properties.domain ?? null };
    } catch (err) {
      throw fromHubSpotError(err, `Company ${companyId}`);
    }
  }
  return {
    id: ticket.id,
    subject: p.subject ?? null,
    content: p.content ?? null,
    priority: p.hs_ticket_priority ?? null,
    pipeline: p.hs_pipeline ?? null,
    stage: p.hs_pipeline_stage ?? null,
    taskId: p.task_id || null,
    company,
  };
}
