// The public JSON shape of tasks and events (snake_case, states and priorities by name).

import { isSkipped } from "../lib/admin/actions.ts";
import { PRIORITIES } from "../lib/tasks/input.ts";
import type { TaskEventRow } from "../lib/tasks/read.ts";
import type { TaskRow } from "../lib/tasks/submit.ts";

export const presentTask = (t: TaskRow) => ({
  id: t.id,
  title: t.title,
  description: t.description,
  state: t.status,
  state_reason: t.statusReason,
  /** When it entered its state (a note or a CRM sync does not move this; updated_at they do). */
  state_since: t.statusSince.toISOString(),
  /** The class of its last failure (lib/failures.ts), kept after a retry. */
  failure_class: t.failureClass,
  /** Done by a skip (its reason says so), not by the client's approval. */
  skipped: isSkipped(t.status, t.statusReason),
  priority: PRIORITIES[t.priority] ?? "normal",
  lane: `P${t.priority}`,
  project: t.projectId,
  plan: t.planId,
  worker: t.workerId,
  rubric: t.rubric,
  dry_run: t.dryRun,
  source: t.source,
  source_ref: t.sourceRef,
  version: t.version,
  last_event_id: t.lastEventId,
  revision_count: t.revisionCount,
  created_at: t.createdAt.toISOString(),
  updated_at: t.updatedAt.toISOString(),
});

export const presentEvent = (e: TaskEventRow) => ({
  id: e.id,
  kind: e.kind,
  actor: e.actor,
  payload: e.payload,
  run_id: e.runId,
  at: e.at.toISOString(),
});
