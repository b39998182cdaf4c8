// HubSpot's error envelope, as the fake answers it: `{status: "error", message, correlationId,
// category, …}` — the shape every CRM v3 endpoint uses (401 INVALID_AUTHENTICATION, 404
// OBJECT_NOT_FOUND, 400 VALIDATION_ERROR, 409 on duplicates). The 404 and "Property values were not
// valid" wordings follow bodies HubSpot is known to return; the other messages are the fake's own.
import { randomUUID } from "node:crypto";

export const hubspotError = (category: string, message: string, extra: Record<string, unknown> = {}) => ({
  status: "error",
  message,
  correlationId: randomUUID(),
  category,
  ...extra,
});

export const objectNotFound = (id: string) =>
  hubspotError("OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.", {
    context: { id: [id] },
  });

export const validationError = (message: string, extra: Record<string, unknown> = {}) =>
  hubspotError("VALIDATION_ERROR", message, extra);

/** One property value HubSpot refused (PATCH / create of a record). */
export interface PropertyValueError {
  isValid: false;
  message: string;
  error: "PROPERTY_DOESNT_EXIST" | "READ_ONLY_VALUE" | "INVALID_OPTION" | "INVALID_INTEGER" | "REQUIRED";
  name: string;
  localizedErrorMessage: string;
}

export const propertyValueError = (
  name: string,
  error: PropertyValueError["error"],
  message: string,
): PropertyValueError => ({ isValid: false, message, error, name, localizedErrorMessage: message });

export const invalidPropertyValues = (errors: PropertyValueError[]) =>
  validationError(`Property values were not valid: ${JSON.stringify(errors)}`);
