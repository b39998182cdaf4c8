// The schema barrel: every table and enum (one file per entity), the single source for drizzle-kit
// and the typed db handle.
export * from "./agent-runs.ts";
export * from "./crm-links.ts";
export * from "./deliverables.ts";
export * from "./enums.ts";
export * from "./knowledge.ts";
export * from "./outbox.ts";
export * from "./plans.ts";
export * from "./projects.ts";
export * from "./provider-cooldowns.ts";
export * from "./reviewers.ts";
export * from "./reviews.ts";
export * from "./settings.ts";
export * from "./slack-messages.ts";
export * from "./stamp-links.ts";
export * from "./stamps.ts";
export * from "./task-dependencies.ts";
export * from "./task-events.ts";
export * from "./tasks.ts";
export * from "./token-usage.ts";
export * from "./tool-calls.ts";
export * from "./worker-leases.ts";
export * from "./workers.ts";
