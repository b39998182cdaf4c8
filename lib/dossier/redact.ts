// Secret redaction for anything written back out (dossiers, logs, deliverables): bearer strings,
// API keys and tokens of the shapes foreman meets (Anthropic, OpenAI, HubSpot, Slack, GitHub, AWS),
// JWTs and `key=value` pairs whose key says it is a secret.
const PATTERNS: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 [redacted]"],
  [/\bsk-ant-[A-Za-z0-9_-]{10,}/g, "[redacted anthropic key]"],
  [/\bsk-(?:proj-)?[A-Za-z0-9_-]{16,}/g, "[redacted api key]"],
  [/\bpat-(?:na|eu|ap)\d-[0-9a-f-]{20,}/gi, "[redacted hubspot token]"],
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, "[redacted slack token]"],
  [/\bgh[pousr]_[A-Za-z0-9]{20,}/g, "[redacted github token]"],
  [/\bAKIA[0-9A-Z]{16}\b/g, "[redacted aws key]"],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, "[redacted jwt]"],
  [
    // Not over a value an earlier pattern already redacted ("token: [redacted hubspot token]").
    /\b(api[_-]?key|secret|token|password|passwd|access[_-]?key)(["']?\s*[:=]\s*["']?)(?!\[redacted)[^\s"',;]{6,}/gi,
    "$1$2[redacted]",
  ],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}
