// Which scenarios a shakedown runs and the plan it seeds for them. Without --inject it runs every
// scenario the command can cause by itself (the text it seeds and the stamps it gives); an injection
// that needs a person to change the deployment (a stopped bridge, a revoked key, a rate limit) runs
// only when named, alone — its arrangement would upset every other task — and only once the operator
// says it is arranged (--arranged).

import type { PlanTaskInput } from "./api.ts";
import { INJECTIONS, type OperatorStaging, SCENARIO_IDS, SCENARIOS, type ScenarioId } from "./scenarios.ts";

export class ShakedownUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShakedownUsageError";
  }
}

/** The default set: every scenario the command stages itself. */
export const SELF_STAGED = SCENARIO_IDS.filter((id) => SCENARIOS[id].staging.by === "self");

export type Selection =
  | { kind: "run"; ids: ScenarioId[] }
  /** A staged injection the operator has not confirmed: what to arrange, nothing run. */
  | { kind: "arrange"; id: ScenarioId; staging: OperatorStaging };

export function selectScenarios(inject: string | undefined, arranged: boolean): Selection {
  if (inject === undefined) return { kind: "run", ids: [...SELF_STAGED] };
  const names = inject
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) throw new ShakedownUsageError("--inject needs at least one name.");
  const unknown = names.filter((n) => !(INJECTIONS as string[]).includes(n));
  if (unknown.length > 0) {
    throw new ShakedownUsageError(
      `unknown injection ${unknown.join(", ")}: choose from ${INJECTIONS.join(", ")}.`,
    );
  }
  const ids = [...new Set(names)] as ScenarioId[];
  const staged = ids.filter((id) => SCENARIOS[id].staging.by === "operator");
  if (staged.length === 0) return { kind: "run", ids };
  if (ids.length > 1) {
    throw new ShakedownUsageError(
      `${staged.join(", ")} change${staged.length === 1 ? "s" : ""} the whole deployment: run ${staged.length === 1 ? "it" : "each"} alone (--inject ${staged[0]}).`,
    );
  }
  const id = ids[0] as ScenarioId;
  const staging = SCENARIOS[id].staging as OperatorStaging;
  return arranged ? { kind: "run", ids } : { kind: "arrange", id, staging };
}

/** The plan's tasks: one per scenario, or two more than the busiest worker's slots for concurrency. */
export function planTasks(ids: ScenarioId[], opts: { dryRun: boolean; slots: number }): PlanTaskInput[] {
  return ids.flatMap((id) => {
    const s = SCENARIOS[id];
    const n = s.count === "one" ? 1 : opts.slots + 2;
    return Array.from({ length: n }, (_, i) => ({
      ref: `${id}-${i + 1}`,
      title: n > 1 ? `${s.task.title} (${i + 1}/${n})` : s.task.title,
      description: s.task.description,
      rubric: s.task.rubric,
      dry_run: opts.dryRun,
    }));
  });
}

/** What the operator must arrange for a staged injection, as printed lines. */
export function arrangement(id: ScenarioId, staging: OperatorStaging): string[] {
  return [
    `${id} needs the deployment changed by hand before it can run:`,
    ...staging.arrange.map((a) => `  - ${a}`),
    ...(staging.during ? [`  - While it runs, when the command says so: ${staging.during.say}`] : []),
    `  - Afterwards: ${staging.restore}`,
    `Then run it alone with --arranged: npm run shakedown -- --mode <dry-run|live> --inject ${id} --arranged`,
  ];
}
