// Column helpers shared by every table: readable prefixed text ids and timestamps.
import { text, timestamp } from "drizzle-orm/pg-core";

export const idColumn = () => text("id").primaryKey();
export const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
export const updatedAt = () =>
  timestamp("updated_at", { withTimezone: true })
    .notNull()
    .defaultNow()
    .$onUpdate(() => new Date());
