// The schema barrel: every table and enum, the single source for drizzle-kit and the typed db handle.
export * from "./enums.ts";
export * from "./ops.ts";
export * from "./projects.ts";
export * from "./reviews.ts";
export * from "./runs.ts";
export * from "./tasks.ts";
export * from "./workers.ts";
