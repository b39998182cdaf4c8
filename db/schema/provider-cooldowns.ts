// Provider cooldowns: a model provider that answered 429/529 is skipped until `until` (functions are
// stateless, so the waterfall's memory lives here).
import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { updatedAt } from "./columns.ts";

export const providerCooldowns = pgTable("provider_cooldowns", {
  provider: text("provider").primaryKey(),
  until: timestamp("until", { withTimezone: true }).notNull(),
  reason: text("reason").notNull(),
  updatedAt: updatedAt(),
});
