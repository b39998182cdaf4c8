// Argument types the HubSpot tools share. Strict objects (unknown keys are a validation error the
// model sees) and every string through lib/text's rules, so nothing odd reaches the CRM or the log.
import { z } from "zod";
import { text } from "../../text.ts";

export const objectType = z
  .string()
  .regex(
    /^([a-z][a-z0-9_]{0,63}|\d+-\d+)$/,
    "must be a CRM object type such as tickets, or a custom type id like 2-123",
  )
  .describe(
    "CRM object type: tickets, contacts, companies, deals, notes, or a custom object type id (2-123456).",
  );

export const propertyName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,99}$/, "must be a property's internal name (lowercase letters, digits, _)")
  .describe("A property's internal name (not its label), e.g. hs_pipeline_stage.");

export const recordId = z
  .string()
  .regex(/^\d{1,20}$/, "must be a HubSpot record id (digits)")
  .describe("The HubSpot record id (digits).");

/** HubSpot stores every property value as a string; numbers and booleans are accepted and sent as text. */
export const propertyValue = z
  .union([text({ max: 65_536, multiline: true }), z.number(), z.boolean()])
  .transform((v) => String(v));

export const propertyValues = z
  .record(propertyName, propertyValue)
  .refine((o) => Object.keys(o).length > 0, "must set at least one property")
  .refine((o) => Object.keys(o).length <= 100, "must set at most 100 properties")
  .describe('Property internal name → new value (as text; "" clears a value).');

export const label = text({ trim: true, min: 1, max: 200 });
