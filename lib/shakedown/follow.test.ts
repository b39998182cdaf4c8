// Following tasks against a scripted API on a virtual clock: stamps given once per stage and version,
// a refusal noted and not repeated, the operator's cue said once, a deadline turned into a timeout,
// and the no-engine hint when nothing is triaged.
import { describe, expect, it } from "vitest";
import type { TaskState } from "../states.ts";
import { type ShakedownApi, ShakedownApiError, type TaskDocument, type TimelineEvent } from "./api.ts";
import { follow } from "./follow.ts";

const at = new Date(0).toISOString();
const event = (id: number, kind: string, payload: unknown = {}): TimelineEvent => ({
  id,
  kind,
  actor: "fn:test",
  payload,
  run_id: null,
  at,
});
const page = (state: TaskState, extra: TimelineEvent[] = []): TaskDocument => ({
  task: { id: "task_1", title: "t", state, worker: "crm-setup", failure_class: null, dry_run: true },
  timeline: [event(1, "triage"), event(2, "deliverable", { hash: "a".repeat(64) }), ...extra],
  review_history: { stamps: [] },
});

/** An API that answers `pages` in turn (the last one forever) and records the stamps asked for. */
function scripted(pages: TaskDocument[], refuse = false) {
  const stamps: string[] = [];
  let i = 0;
  const api = {
    url: "http://deployment",
    task: async () => pages[Math.min(i++, pages.length - 1)] as TaskDocument,
    stamp: async (_id: string, body: { stage: string; deliverable_hash: string }) => {
      stamps.push(`${body.stage}:${body.deliverable_hash.slice(0, 1)}`);
      if (refuse) throw new ShakedownApiError("409: decided already by slack", { status: 409 });
      return { stamp: { id: "stamp_1", replayed: false }, task: { id: "task_1", state: "done" as const } };
    },
  } as unknown as ShakedownApi;
  return { api, stamps };
}

function clock() {
  let t = 0;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
  };
}

describe("following shakedown tasks", () => {
  it("stamps each waiting stage once per version, then stops at done", async () => {
    const { api, stamps } = scripted([
      page("working"),
      page("awaiting_internal_review"),
      page("awaiting_internal_review"),
      page("awaiting_client_review"),
      page("done"),
    ]);
    const lines: string[] = [];
    const [f] = await follow(api, [{ scenario: "baseline", ref: "baseline-1", id: "task_1" }], {
      pollMs: 1000,
      say: (l) => lines.push(l),
      ...clock(),
    });
    expect(stamps).toEqual(["internal:a", "client:a"]);
    expect(f).toMatchObject({ timedOut: false, notes: ["internal stamp approved", "client stamp approved"] });
    expect(f?.doc?.task.state).toBe("done");
  });

  it("notes a refused stamp once and does not ask again", async () => {
    const { api, stamps } = scripted(
      [page("awaiting_internal_review"), page("awaiting_internal_review"), page("cancelled")],
      true,
    );
    const [f] = await follow(api, [{ scenario: "baseline", ref: "baseline-1", id: "task_1" }], {
      pollMs: 1000,
      say: () => {},
      ...clock(),
    });
    expect(stamps).toEqual(["internal:a"]);
    expect(f?.notes).toEqual(["internal stamp refused: 409: decided already by slack"]);
  });

  it("says the operator's cue once, and times out a task that never ends", async () => {
    const parked = page("working", [event(3, "review_pending", { reason: "down" })]);
    const { api } = scripted([page("working"), parked]);
    const lines: string[] = [];
    const [f] = await follow(api, [{ scenario: "local-down", ref: "local-down-1", id: "task_1" }], {
      pollMs: 30_000,
      timeoutSeconds: 300,
      say: (l) => lines.push(l),
      ...clock(),
    });
    expect(lines.filter((l) => l.includes("Start the GPU bridge again now"))).toHaveLength(1);
    expect(f).toMatchObject({ timedOut: true, notes: ["followed for 300 s"] });
  });

  it("hints at a missing engine when nothing is triaged after a minute", async () => {
    const untouched: TaskDocument = { ...page("intake"), timeline: [event(1, "submitted")] };
    const { api } = scripted([untouched]);
    const lines: string[] = [];
    await follow(api, [{ scenario: "baseline", ref: "baseline-1", id: "task_1" }], {
      pollMs: 20_000,
      timeoutSeconds: 120,
      say: (l) => lines.push(l),
      ...clock(),
    });
    expect(lines.filter((l) => l.includes("is an Inngest engine attached"))).toHaveLength(1);
  });
});
