// The client owner (issue 16: "client owner → done = client stamp"): a ticket moved to Done in HubSpot
// is the client's approval — and one moved back to Ready their change request — only when the person
// who moved it is a listed client-stage human reviewer of the task's project (or of every project)
// whose hubspot_user_id is HubSpot's user id for the move.
// HubSpot names the mover in the webhook's `sourceId` ("userId:1234567"); a workflow, an import or an
// integration names no user, and so can never approve.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";

export interface Mover {
  sourceId?: string | undefined;
  changeSource?: string | undefined;
}

/** HubSpot's user id in a webhook sourceId (`userId:1234567`), else undefined. */
export function hubspotUserOf(sourceId: string | undefined): string | undefined {
  return /^userId:(\d{1,20})$/.exec(sourceId?.trim() ?? "")?.[1];
}

/** How a refusal names the mover: the HubSpot user, else what HubSpot says moved it. */
export const moverLabel = (m: Mover): string | undefined => {
  const user = hubspotUserOf(m.sourceId);
  if (user) return `HubSpot user ${user}`;
  const what = [m.changeSource, m.sourceId].filter(Boolean).join(" ");
  return what ? `${what} (no HubSpot user)` : undefined;
};

export type OwnerCheck = { ok: true; reviewerId: string; userId: string } | { ok: false; reason: string };

export async function clientOwnerCheck(
  db: AppDb,
  taskId: string,
  mover: Mover,
  decision: "approve" | "request_changes" = "approve",
): Promise<OwnerCheck> {
  const userId = hubspotUserOf(mover.sourceId);
  const rule =
    decision === "approve"
      ? "only the client owner's move to Done is the client's approval"
      : "only the client owner's move back to Ready is the client's change request";
  if (!userId) {
    const how = mover.changeSource ? ` (change source ${mover.changeSource})` : "";
    return { ok: false, reason: `${rule}, and HubSpot names no user for this move${how}` };
  }
  const result = await db.execute(sql`
    select r.id from reviewers r join tasks t on t.id = ${taskId}
     where r.kind = 'human' and r.stage = 'client' and r.active and r.hubspot_user_id = ${userId}
       and (r.project_id is null or r.project_id = t.project_id)
     order by r.project_id nulls last limit 1`);
  const id = rowsOf<{ id: string }>(result)[0]?.id;
  if (!id) {
    return {
      ok: false,
      reason: `${rule}, and HubSpot user ${userId} is not listed as a client reviewer of this project`,
    };
  }
  return { ok: true, reviewerId: id, userId };
}
