// What the lifecycle tests share: the model fakes (Anthropic for the worker, the OpenAI-shaped bridge
// upstream for the local tier) with HubSpot, the env that points the app at them, and the scripted
// story "triage, a failed review with FEEDBACK, a revision, a passing review".
import { afterAll, beforeAll } from "vitest";
import { type AnthropicFake, startAnthropicFake } from "../fakes/anthropic.ts";
import { FAKE_HUBSPOT_TOKEN, type FakeHubSpot, startFakeHubSpot } from "../fakes/hubspot.ts";
import { toolTurn } from "../fakes/model-script.ts";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";

export interface ModelFakes {
  anthropic: AnthropicFake;
  hubspot: FakeHubSpot;
  local: OpenAIUpstream;
}

/** Starts the fakes before the file's tests and closes them after; read them inside tests. */
export function useModelFakes(): ModelFakes {
  const ref: Partial<ModelFakes> = {};
  beforeAll(async () => {
    [ref.anthropic, ref.hubspot, ref.local] = await Promise.all([
      startAnthropicFake(),
      startFakeHubSpot(),
      startOpenAIUpstream(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([ref.anthropic?.close(), ref.hubspot?.close(), ref.local?.close()]);
  });
  const get = <K extends keyof ModelFakes>(k: K): ModelFakes[K] => {
    const v = ref[k];
    if (!v) throw new Error(`useModelFakes: ${k} starts in beforeAll`);
    return v as ModelFakes[K];
  };
  return {
    get anthropic() {
      return get("anthropic");
    },
    get hubspot() {
      return get("hubspot");
    },
    get local() {
      return get("local");
    },
  };
}

/** The app's env for the fakes: the worker on Anthropic, the local tier behind the bridge, HubSpot. */
export const modelEnv = (f: ModelFakes): Record<string, string> => ({
  ANTHROPIC_API_KEY: f.anthropic.apiKey,
  ANTHROPIC_BASE_URL: f.anthropic.url,
  HUBSPOT_ACCESS_TOKEN: FAKE_HUBSPOT_TOKEN,
  HUBSPOT_BASE_URL: f.hubspot.url,
  BRIDGE_URL: f.local.url,
  BRIDGE_TOKEN: "bridge-token",
  LOCAL_MODEL: f.local.behaviour.model,
});

export const FEEDBACK = "The label must be 'Renewal date', not 'renewal'.";

/** The router's answer for the renewal-date task (the local model's first answer in these stories). */
export const TRIAGE_ANSWER = {
  worker: "crm-setup",
  priority: "P2",
  rubric: ["The property is labelled Renewal date"],
  internal_stamp_required: true,
  reason: "CRM property work",
};

/**
 * The local model answers triage, then a failing review (FEEDBACK), then a passing one; the worker
 * submits the wrong label, then the right one.
 */
export function scriptFailThenPass(f: ModelFakes): void {
  const answers: unknown[] = [
    TRIAGE_ANSWER,
    {
      criteria: [{ criterion: "label", score: 3, pass: false, note: "wrong label" }],
      verdict: "fail",
      score: 3,
      feedback: FEEDBACK,
    },
    {
      criteria: [{ criterion: "label", score: 9, pass: true, note: "ok" }],
      verdict: "pass",
      score: 9,
      feedback: "Correct now.",
    },
  ];
  Object.defineProperty(f.local.behaviour, "json", { configurable: true, get: () => answers.shift() });
  f.anthropic.queue(
    toolTurn("submit", {
      markdown: "Created renewal_date labelled 'renewal'.",
      result: { label: "renewal" },
    }),
    toolTurn("submit", {
      markdown: "Relabelled renewal_date to 'Renewal date'.",
      result: { label: "Renewal date" },
    }),
  );
}
