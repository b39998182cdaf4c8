// The idempotent HubSpot setup behind `npm run setup:hubspot`: a dedicated ticket pipeline with one
// stage per task state (lifecycle order; done and cancelled closed), and a ticket property group with
// the properties every sync writes (task_id is unique-valued, so a write is a PATCH by idProperty).
// Three reads describe the portal, planSetup() is pure and lists only what is missing, applySetup()
// makes exactly those creates. A second run plans nothing and writes nothing. Existing objects are
// matched by the ids stored last time first (admins rename labels), then by label or name.

import type { PropertyCreate } from "@hubspot/api-client/lib/codegen/crm/properties/index.js";
import { TASK_STATES, type TaskState, TERMINAL_STATES } from "../states.ts";
import type { HubSpotClient } from "./client.ts";
import { fromHubSpotError } from "./errors.ts";
import type { SetupMapping } from "./setup-mapping.ts";

export const PIPELINE_LABEL = "foreman tasks";
export const PROPERTY_GROUP = { name: "foreman", label: "Foreman" } as const;

export const STAGE_LABELS: Record<TaskState, string> = {
  intake: "Intake",
  ready: "Ready",
  working: "Working",
  awaiting_internal_review: "Awaiting internal review",
  awaiting_client_review: "Awaiting client review",
  done: "Done",
  blocked_external: "Blocked (external)",
  failed_needs_triage: "Failed, needs triage",
  cancelled: "Cancelled",
};

export interface PropertySpec {
  name: string;
  label: string;
  type: "string" | "number";
  fieldType: "text" | "number";
  description: string;
  hasUniqueValue?: boolean;
}

export const PROPERTIES: readonly PropertySpec[] = [
  {
    name: "task_id",
    label: "Task ID",
    type: "string",
    fieldType: "text",
    description: "The foreman task this ticket tracks (unique: writes address the ticket by it).",
    hasUniqueValue: true,
  },
  {
    name: "task_url",
    label: "Task URL",
    type: "string",
    fieldType: "text",
    description: "The task in foreman.",
  },
  {
    name: "last_event_id",
    label: "Last event ID",
    type: "string",
    fieldType: "text",
    description: "The task event this ticket was last synced from (echo detection).",
  },
  {
    name: "revision_count",
    label: "Revision count",
    type: "number",
    fieldType: "number",
    description: "How many revision rounds the task has been through.",
  },
  {
    name: "worker",
    label: "Worker",
    type: "string",
    fieldType: "text",
    description: "The worker on the task.",
  },
];

const isClosedState = (s: TaskState) => TERMINAL_STATES.includes(s);
const stageInput = (s: TaskState) => ({
  label: STAGE_LABELS[s],
  displayOrder: TASK_STATES.indexOf(s),
  metadata: { ticketState: isClosedState(s) ? "CLOSED" : "OPEN" },
});

/** What the portal holds, as far as setup cares (three GETs). */
export interface PortalSchema {
  pipelines: {
    id: string;
    label: string;
    archived?: boolean;
    stages: { id: string; label: string; archived?: boolean; metadata?: Record<string, string> }[];
  }[];
  groups: { name: string; archived?: boolean }[];
  properties: {
    name: string;
    type: string;
    groupName: string;
    hasUniqueValue?: boolean;
    archived?: boolean;
  }[];
}

export type SetupAction =
  | { kind: "create_pipeline"; label: string; displayOrder: number; stages: ReturnType<typeof stageInput>[] }
  | { kind: "create_stage"; state: TaskState; pipelineId: string; stage: ReturnType<typeof stageInput> }
  | { kind: "create_group"; name: string; label: string }
  | { kind: "create_property"; property: PropertySpec & { groupName: string } };

export interface SetupPlan {
  actions: SetupAction[];
  /** Ids already there: the pipeline's (when it exists) and the existing stages'. */
  pipelineId: string | undefined;
  stageIds: Partial<Record<TaskState, string>>;
  /** Existing objects setup cannot use and will not change (wrong type, not unique, wrong open/closed). */
  problems: string[];
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
const live = <T extends { archived?: boolean }>(xs: T[]) => xs.filter((x) => !x.archived);

export async function readPortal(client: HubSpotClient): Promise<PortalSchema> {
  try {
    const [pipelines, groups, properties] = await Promise.all([
      client.crm.pipelines.pipelinesApi.getAll("tickets"),
      client.crm.properties.groupsApi.getAll("tickets"),
      client.crm.properties.coreApi.getAll("tickets"),
    ]);
    return {
      pipelines: pipelines.results.map((p) => ({
        id: p.id,
        label: p.label,
        archived: p.archived,
        stages: p.stages.map((s) => ({
          id: s.id,
          label: s.label,
          archived: s.archived,
          metadata: s.metadata,
        })),
      })),
      groups: groups.results,
      properties: properties.results,
    };
  } catch (err) {
    throw fromHubSpotError(err, "The ticket pipelines and properties");
  }
}

/** What is missing, given the portal and (optionally) the mapping stored by the last run. */
export function planSetup(portal: PortalSchema, previous?: SetupMapping): SetupPlan {
  const actions: SetupAction[] = [];
  const problems: string[] = [];
  const stageIds: Partial<Record<TaskState, string>> = {};
  const pipelines = live(portal.pipelines);
  const pipeline =
    pipelines.find((p) => previous !== undefined && p.id === previous.pipelineId) ??
    pipelines.find((p) => same(p.label, PIPELINE_LABEL));

  if (!pipeline) {
    actions.push({
      kind: "create_pipeline",
      label: PIPELINE_LABEL,
      displayOrder: pipelines.length,
      stages: TASK_STATES.map(stageInput),
    });
  } else {
    const stages = live(pipeline.stages);
    const taken = new Set<string>();
    for (const state of TASK_STATES) {
      const stored = previous?.pipelineId === pipeline.id ? previous.stageIds[state] : undefined;
      const found =
        stages.find((s) => s.id === stored && !taken.has(s.id)) ??
        stages.find((s) => same(s.label, STAGE_LABELS[state]) && !taken.has(s.id));
      if (!found) {
        actions.push({ kind: "create_stage", state, pipelineId: pipeline.id, stage: stageInput(state) });
        continue;
      }
      taken.add(found.id);
      stageIds[state] = found.id;
      const closed = found.metadata?.isClosed === "true" || found.metadata?.ticketState === "CLOSED";
      if (closed !== isClosedState(state)) {
        problems.push(
          `Stage "${found.label}" (${found.id}) for ${state} is ${closed ? "closed" : "open"}; ` +
            `it must be ${isClosedState(state) ? "closed" : "open"}. Change it in HubSpot and run setup again.`,
        );
      }
    }
  }

  if (!live(portal.groups).some((g) => g.name === PROPERTY_GROUP.name)) {
    actions.push({ kind: "create_group", ...PROPERTY_GROUP });
  }
  const properties = live(portal.properties);
  for (const spec of PROPERTIES) {
    const existing = properties.find((p) => p.name === spec.name);
    if (!existing) {
      actions.push({ kind: "create_property", property: { ...spec, groupName: PROPERTY_GROUP.name } });
      continue;
    }
    if (existing.type !== spec.type) {
      problems.push(
        `Ticket property ${spec.name} exists with type ${existing.type}; foreman needs ${spec.type}.`,
      );
    }
    if (spec.hasUniqueValue && !existing.hasUniqueValue) {
      problems.push(
        `Ticket property ${spec.name} exists without unique values; foreman writes tickets by it, so it ` +
          "must be unique-valued (HubSpot cannot change that: archive it and run setup again).",
      );
    }
  }
  return { actions, pipelineId: pipeline?.id, stageIds, problems };
}

/** One line per action, for `--dry-run` and the log of a real run. */
export function describeAction(a: SetupAction): string {
  const openness = (m: { ticketState: string }) => (m.ticketState === "CLOSED" ? "closed" : "open");
  switch (a.kind) {
    case "create_pipeline":
      return [
        `create ticket pipeline "${a.label}" with ${a.stages.length} stages:`,
        ...a.stages.map((s, i) => `    ${i + 1}. ${s.label} (${openness(s.metadata)})`),
      ].join("\n");
    case "create_stage":
      return `create stage "${a.stage.label}" (${openness(a.stage.metadata)}, order ${a.stage.displayOrder}) in pipeline ${a.pipelineId}`;
    case "create_group":
      return `create ticket property group "${a.name}" (${a.label})`;
    case "create_property": {
      const p = a.property;
      return `create ticket property ${p.name} (${p.type}${p.hasUniqueValue ? ", unique" : ""}) in group ${p.groupName}`;
    }
  }
}

const isConflict = (err: unknown) => (err as { code?: unknown })?.code === 409;

/**
 * Makes the plan's creates, in order (the group before its properties), and returns the full mapping.
 * A 409 (someone created the same object meanwhile) counts as created: the object is read back.
 */
export async function applySetup(client: HubSpotClient, plan: SetupPlan): Promise<SetupMapping> {
  if (plan.problems.length)
    throw new Error(`HubSpot setup cannot continue:\n  ${plan.problems.join("\n  ")}`);
  let pipelineId = plan.pipelineId;
  const stageIds: Partial<Record<TaskState, string>> = { ...plan.stageIds };
  const ordered = [
    ...plan.actions.filter((a) => a.kind === "create_group"),
    ...plan.actions.filter((a) => a.kind !== "create_group"),
  ];
  for (const action of ordered) {
    try {
      switch (action.kind) {
        case "create_pipeline": {
          const { kind: _, ...input } = action;
          const created = await client.crm.pipelines.pipelinesApi
            .create("tickets", input)
            .catch(async (err) => {
              if (!isConflict(err)) throw err;
              const all = await client.crm.pipelines.pipelinesApi.getAll("tickets");
              const found = all.results.find((p) => !p.archived && same(p.label, PIPELINE_LABEL));
              if (!found) throw err;
              return found;
            });
          pipelineId = created.id;
          for (const state of TASK_STATES) {
            const stage = created.stages.find((s) => !s.archived && same(s.label, STAGE_LABELS[state]));
            if (stage) stageIds[state] = stage.id;
          }
          break;
        }
        case "create_stage": {
          const created = await client.crm.pipelines.pipelineStagesApi.create(
            "tickets",
            action.pipelineId,
            action.stage,
          );
          stageIds[action.state] = created.id;
          break;
        }
        case "create_group":
          await client.crm.properties.groupsApi.create("tickets", action).catch((err) => {
            if (!isConflict(err)) throw err;
          });
          break;
        case "create_property": {
          // PropertySpec's type and fieldType are a subset of the SDK's enums' string values.
          const input = action.property as unknown as PropertyCreate;
          await client.crm.properties.coreApi.create("tickets", input).catch((err) => {
            if (!isConflict(err)) throw err;
          });
          break;
        }
      }
    } catch (err) {
      throw fromHubSpotError(err, `HubSpot setup (${describeAction(action).split("\n")[0]})`);
    }
  }
  const missing = TASK_STATES.filter((s) => !stageIds[s]);
  if (!pipelineId || missing.length) {
    throw new Error(`HubSpot setup: no stage id for ${missing.join(", ") || "the pipeline"} after setup`);
  }
  return {
    pipelineId,
    stageIds: stageIds as Record<TaskState, string>,
    propertyGroup: PROPERTY_GROUP.name,
    properties: PROPERTIES.map((p) => p.name),
  };
}

export interface SetupResult {
  plan: SetupPlan;
  /** Undefined on a dry run. */
  mapping: SetupMapping | undefined;
}

/** Reads the portal, plans, and (unless dry-run) applies. Writes nothing to HubSpot when dryRun is set. */
export async function setupHubSpot(
  client: HubSpotClient,
  opts: { dryRun: boolean; previous?: SetupMapping | undefined },
): Promise<SetupResult> {
  const plan = planSetup(await readPortal(client), opts.previous);
  if (opts.dryRun) return { plan, mapping: undefined };
  return { plan, mapping: await applySetup(client, plan) };
}
