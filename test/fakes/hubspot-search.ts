// The CRM search endpoint's matching (POST /crm/v3/objects/{objectType}/search): filter groups are
// ORed, the filters in a group ANDed, with HubSpot's operators. Values compare as numbers when both
// sides are numeric, else as case-insensitive text; CONTAINS_TOKEN matches a whole word, `*` a wildcard.
export interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: string;
  highValue?: string;
  values?: string[];
}

const num = (s: string | null | undefined) =>
  s != null && s.trim() !== "" && !Number.isNaN(Number(s)) ? Number(s) : undefined;

function compare(a: string, b: string): number {
  const x = num(a);
  const y = num(b);
  if (x !== undefined && y !== undefined) return x - y;
  return a.toLowerCase().localeCompare(b.toLowerCase());
}

function tokenMatch(value: string, token: string): boolean {
  const pattern = new RegExp(
    `^${token
      .toLowerCase()
      .replace(/[.+?^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")}$`,
  );
  return value
    .toLowerCase()
    .split(/[^\p{L}\p{N}@._-]+/u)
    .some((word) => pattern.test(word));
}

export function matches(props: Record<string, string | null>, f: SearchFilter): boolean {
  const v = props[f.propertyName];
  const has = v !== undefined && v !== null && v !== "";
  switch (f.operator) {
    case "HAS_PROPERTY":
      return has;
    case "NOT_HAS_PROPERTY":
      return !has;
    case "EQ":
      return has && compare(v, f.value ?? "") === 0;
    case "NEQ":
      return !has || compare(v, f.value ?? "") !== 0;
    case "LT":
      return has && compare(v, f.value ?? "") < 0;
    case "LTE":
      return has && compare(v, f.value ?? "") <= 0;
    case "GT":
      return has && compare(v, f.value ?? "") > 0;
    case "GTE":
      return has && compare(v, f.value ?? "") >= 0;
    case "BETWEEN":
      return has && compare(v, f.value ?? "") >= 0 && compare(v, f.highValue ?? "") <= 0;
    case "IN":
      return has && (f.values ?? []).some((x) => compare(v, x) === 0);
    case "NOT_IN":
      return !has || !(f.values ?? []).some((x) => compare(v, x) === 0);
    case "CONTAINS_TOKEN":
      return has && tokenMatch(v, f.value ?? "");
    case "NOT_CONTAINS_TOKEN":
      return !has || !tokenMatch(v, f.value ?? "");
    default:
      return false;
  }
}

export const OPERATORS = [
  "EQ",
  "NEQ",
  "LT",
  "LTE",
  "GT",
  "GTE",
  "BETWEEN",
  "IN",
  "NOT_IN",
  "HAS_PROPERTY",
  "NOT_HAS_PROPERTY",
  "CONTAINS_TOKEN",
  "NOT_CONTAINS_TOKEN",
];
