// Resuming a human stage the engine lost (task/stamp.resume, sent by the watchdog): before anything
// else the stage re-reads the stamps table — a decision may have landed while no run was waiting —
// and the task's log since the stage began, so what the lost run already did (the reminder, the
// escalation, the client's link) is not done twice. One read.
import { sql } from "drizzle-orm";
import { rowsOf } from "../../db/rows.ts";
import type { AppDb } from "../../db/types.ts";
import type { StageRef } from "./human.ts";
import { readStampOutcome, type StampOutcome } from "./stamp-wait.ts";

export interface ResumeState {
  outcome: StampOutcome;
  reminded: boolean;
  escalated: boolean;
  /**
   * A client link for this version, minted in this stay, unexpired, and handed over (the note written
   * after its Slack post): a link whose post never went out does not count, so it is handed over anew.
   */
  linkIssued: boolean;
  /** When the stage was resumed: waits that ended before it are not waited again. */
  resumedAt: string;
}

export async function readResumeState(
  db: AppDb,
  ref: StageRef,
  startedAt: string,
  now: Date,
): Promise<ResumeState> {
  const outcome = await readStampOutcome(db, ref);
  const result = await db.execute(sql`
    select exists (select 1 from task_events e where e.task_id = ${ref.taskId} and e.kind = 'reminder'
                     and e.payload->>'stage' = ${ref.stage} and e.created_at >= ${startedAt}::timestamptz) as reminded,
           exists (select 1 from task_events e where e.task_id = ${ref.taskId} and e.kind = 'escalation'
                     and e.payload->>'stage' = ${ref.stage} and e.created_at >= ${startedAt}::timestamptz) as escalated,
           exists (select 1 from stamp_links l
                     join task_events n on n.task_id = l.task_id and n.kind = 'note'
                      -- Notes written before the link id was recorded name it in their text.
                      and (n.payload->>'linkId' = l.token_id
                           or (n.payload->>'linkId' is null and strpos(n.payload->>'text', '(id ' || l.token_id || ',') > 0))
                    where l.task_id = ${ref.taskId} and l.stage = 'client'
                     and l.deliverable_hash = ${ref.deliverableHash}
                     and l.created_at >= coalesce(${ref.entered?.at ?? null}::timestamptz, '-infinity'::timestamptz)
                     and l.expires_at > ${now.toISOString()}::timestamptz) as link_issued`);
  const [r] = rowsOf<{ reminded: boolean; escalated: boolean; link_issued: boolean }>(result);
  return {
    outcome,
    reminded: Boolean(r?.reminded),
    escalated: Boolean(r?.escalated),
    linkIssued: ref.stage === "client" && Boolean(r?.link_issued),
    resumedAt: now.toISOString(),
  };
}
