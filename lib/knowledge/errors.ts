// Errors of the knowledge verbs: an unknown entry, and the project foreign key mapped back to the
// input field it checks (the database does the existence check, in the same statement as the write).

import { pgErrorOf } from "../../db/rows.ts";
import { DomainError } from "../errors.ts";

export const knowledgeNotFound = (id: string): DomainError =>
  new DomainError("NOT_FOUND", `Knowledge entry ${id} does not exist.`, { field: "id", details: { id } });

/** A violation of knowledge.project_id → projects.id as a VALIDATION error on `field`, else undefined. */
export function unknownProjectError(err: unknown, field = "project"): DomainError | undefined {
  const pg = pgErrorOf(err);
  if (pg?.code !== "23503" || pg.constraint !== "knowledge_project_id_projects_id_fk") return undefined;
  // detail: Key (project_id)=(proj_x) is not present in table "projects".
  const value = /=\((.*)\)/.exec(pg.detail ?? "")?.[1];
  return new DomainError("VALIDATION", `Project '${value ?? "?"}' does not exist.`, {
    field,
    details: { project: value },
    cause: err,
  });
}
