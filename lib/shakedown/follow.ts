// Following seeded tasks on a deployment: poll each through GET /api/tasks/:id until it ends (done,
// cancelled, or a side state that waits for a person: triage, blocked) or its deadline passes; while
// a task waits for a stamp, give it — the shakedown is the person — through POST
// /api/tasks/:id/stamps, once per stage and deliverable version; say the operator's cue when a staged
// scenario reaches it (local-down: "the review is parked, bring the model back").
import { type StampStage, stageOf, type TaskState } from "../states.ts";
import { type ShakedownApi, ShakedownApiError, type TaskDocument } from "./api.ts";
import { type Followed, latestHash, type Seeded } from "./judge.ts";
import { SCENARIOS } from "./scenarios.ts";

/** Where following stops: the task ended, or it waits for a person the shakedown does not play. */
const SETTLED: readonly TaskState[] = ["done", "cancelled", "failed_needs_triage", "blocked_external"];

export interface FollowOptions {
  pollMs: number;
  /** Seconds each task may take; default its scenario's. */
  timeoutSeconds?: number;
  say: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export async function follow(api: ShakedownApi, seeded: Seeded[], opts: FollowOptions): Promise<Followed[]> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = now();
  const state = seeded.map((s) => ({
    seeded: s,
    doc: undefined as TaskDocument | undefined,
    timedOut: false,
    notes: [] as string[],
    done: false,
    stamped: new Set<string>(),
    cued: false,
    lastError: "",
    deadline: started + (opts.timeoutSeconds ?? SCENARIOS[s.scenario].timeoutSeconds) * 1000,
  }));

  let hinted = false;
  for (;;) {
    for (const t of state.filter((x) => !x.done)) {
      try {
        t.doc = await api.task(t.seeded.id);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        if (why !== t.lastError) opts.say(`  ! ${t.seeded.ref}: ${why}`);
        t.lastError = why;
      }
      const doc = t.doc;
      if (doc && SETTLED.includes(doc.task.state)) {
        t.done = true;
        opts.say(`  ${t.seeded.ref} (${t.seeded.id}): ${doc.task.state}`);
        continue;
      }
      if (now() > t.deadline) {
        t.done = true;
        t.timedOut = true;
        t.notes.push(`followed for ${Math.round((t.deadline - started) / 1000)} s`);
        continue;
      }
      if (!doc) continue;
      const staging = SCENARIOS[t.seeded.scenario].staging;
      if (staging.by === "operator" && staging.during && !t.cued) {
        if (doc.timeline.some((e) => e.kind === staging.during?.when)) {
          t.cued = true;
          opts.say(`  >> ${t.seeded.ref}: ${staging.during.say}`);
        }
      }
      const stage = stageOf(doc.task.state);
      const hash = latestHash(doc);
      if (stage && hash && !t.stamped.has(`${stage}:${hash}`)) {
        // Given once per stage and version; only an unreachable server leaves it to the next poll.
        if (await stampAs(api, t, stage, hash, opts.say)) t.stamped.add(`${stage}:${hash}`);
      }
    }
    if (state.every((x) => x.done)) break;
    // Nothing triaged after a minute usually means no engine is attached, not a slow one.
    if (
      !hinted &&
      now() - started > 60_000 &&
      state.every((x) => x.doc && !x.doc.timeline.some((e) => e.kind === "triage"))
    ) {
      hinted = true;
      opts.say(
        "  ! no task has been triaged after 60 s: is an Inngest engine attached to the deployment (npm run dev, `npx inngest-cli dev -u <url>/api/inngest`, or Inngest Cloud)?",
      );
    }
    await sleep(opts.pollMs);
  }
  return state.map(({ seeded, doc, timedOut, notes }) => ({ seeded, doc, timedOut, notes }));
}

/**
 * The person's approval. A refusal (someone decided first, a newer version) is noted and not tried
 * again; false when the server could not be reached, to try on the next poll.
 */
async function stampAs(
  api: ShakedownApi,
  t: { seeded: Seeded; notes: string[] },
  stage: StampStage,
  hash: string,
  say: (line: string) => void,
): Promise<boolean> {
  try {
    await api.stamp(
      t.seeded.id,
      { stage, decision: "approve", deliverable_hash: hash, note: "approved by the shakedown" },
      `shakedown:${t.seeded.id}:${stage}:${hash}`,
    );
    t.notes.push(`${stage} stamp approved`);
    say(`  ${t.seeded.ref}: ${stage} stamp approved`);
    return true;
  } catch (err) {
    if (!(err instanceof ShakedownApiError)) throw err;
    if (err.status === undefined) {
      say(`  ! ${t.seeded.ref}: ${stage} stamp not sent: ${err.message}`);
      return false;
    }
    t.notes.push(`${stage} stamp refused: ${err.message}`);
    say(`  ! ${t.seeded.ref}: ${stage} stamp refused: ${err.message}`);
    return true;
  }
}
