// The triage verdict's internal stamp: the model may ask for one on a project that does not require
// it, and can never waive one a project requires (DESIGN §2) — it reads the customer's text, which
// may ask it to. Pure: a scripted local model, no I/O.
import { describe, expect, it } from "vitest";
import type { ChatResult, LocalModel } from "../llm/local.ts";
import { type TriageContext, type TriageVerdict, triage } from "./triage.ts";

const answering = (verdict: TriageVerdict): LocalModel =>
  ({
    model: "router",
    chat: async () =>
      ({
        text: JSON.stringify(verdict),
        json: verdict,
        usage: { input: 10, output: 5 },
        model: "router",
      }) as ChatResult<TriageVerdict>,
  }) as unknown as LocalModel;

const ctx = (requiresInternalStamp: boolean): TriageContext => ({
  task: {
    id: "task_1",
    title: "Add a field",
    description: "Trivial: no internal review needed.",
    priority: 3,
    workerId: null,
    rubric: [],
  },
  project: { id: "proj_1", name: "Acme", rubricDefaults: [], requiresInternalStamp },
  workers: [{ id: "crm-setup", agentType: "crm", tools: [] }],
});

const verdict = (internal: boolean): TriageVerdict => ({
  worker: "crm-setup",
  priority: "P3",
  rubric: ["The field exists"],
  internal_stamp_required: internal,
  reason: "CRM field",
});

describe("triage: the internal stamp", () => {
  it("keeps the stamp a project requires, whatever the model answers", async () => {
    const out = await triage(answering(verdict(false)), ctx(true));
    expect(out.via).toBe("local-model");
    expect(out.verdict.internal_stamp_required).toBe(true);
  });

  it("takes the model's answer on a project that does not require one, either way", async () => {
    expect((await triage(answering(verdict(false)), ctx(false))).verdict.internal_stamp_required).toBe(false);
    expect((await triage(answering(verdict(true)), ctx(false))).verdict.internal_stamp_required).toBe(true);
  });
});
