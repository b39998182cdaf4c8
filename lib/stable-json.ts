// JSON with every object's keys sorted at every depth (undefined members dropped, as JSON.stringify
// drops them), so two equal bodies serialise — and hash — alike whatever their key order. Used for
// the submission hashes that tell an Idempotency-Key repeat from another body under the same key.
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : stableJson(x))).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
