// Property values as HubSpot checks them on a record write (PATCH, create, batch): the property must
// exist and be writable, an enumeration value must be one of its options, a number must parse, and a
// ticket's hs_pipeline_stage must be a live stage of the ticket's pipeline (HubSpot refuses a stage
// id from another pipeline or an archived one). Seeded records (addTicket) are not checked.
import { type PropertyValueError, propertyValueError } from "./hubspot-errors.ts";
import type { FakeSchema } from "./hubspot-seed.ts";

export function propertyErrors(
  schema: FakeSchema,
  type: string,
  values: Record<string, unknown>,
  current: Record<string, string | null> = {},
): PropertyValueError[] {
  const defs = schema.properties.get(type);
  const errors: PropertyValueError[] = [];
  for (const [name, value] of Object.entries(values)) {
    const def = defs?.get(name);
    const v = String(value ?? "");
    if (!def) {
      errors.push(propertyValueError(name, "PROPERTY_DOESNT_EXIST", `Property "${name}" does not exist`));
    } else if (def.modificationMetadata.readOnlyValue) {
      errors.push(
        propertyValueError(
          name,
          "READ_ONLY_VALUE",
          `"${name}" is a read only property; its value cannot be set.`,
        ),
      );
    } else if (def.type === "enumeration" && def.options.length && v !== "") {
      const allowed = new Set(def.options.map((o) => o.value));
      const badValue = v.split(";").find((x) => !allowed.has(x));
      if (badValue !== undefined) {
        errors.push(
          propertyValueError(
            name,
            "INVALID_OPTION",
            `${badValue} was not one of the allowed options: ${[...allowed].join(", ")}`,
          ),
        );
      }
    } else if (def.type === "number" && v !== "" && Number.isNaN(Number(v))) {
      errors.push(propertyValueError(name, "INVALID_INTEGER", `${v} is not a valid number for ${name}`));
    }
  }
  if (type === "tickets" && values.hs_pipeline_stage !== undefined) {
    const pipelineId = String(values.hs_pipeline ?? current.hs_pipeline ?? "0");
    const pipeline = schema.pipelines.get("tickets")?.find((p) => p.id === pipelineId && !p.archived);
    const stageId = String(values.hs_pipeline_stage);
    if (!pipeline) {
      errors.push(
        propertyValueError("hs_pipeline", "INVALID_OPTION", `${pipelineId} is not a valid ticket pipeline`),
      );
    } else if (!pipeline.stages.some((s) => s.id === stageId && !s.archived)) {
      errors.push(
        propertyValueError(
          "hs_pipeline_stage",
          "INVALID_OPTION",
          `${stageId} is not a valid stage of pipeline ${pipelineId}`,
        ),
      );
    }
  }
  return errors;
}
