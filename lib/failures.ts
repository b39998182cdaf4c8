// The failure taxonomy (seed 002): every move to failed_needs_triage carries one class, so the board,
// the digest and the API can group failures by what would fix them. One classifier: a failure's
// reason starts with its class (`auth: the key was revoked`) — written by whoever moves the task,
// using classifyFailure for errors — and classOfReason reads it back; the transition stores it in
// tasks.failure_class in the same statement.
import { isDomainError } from "./errors.ts";

export const FAILURE_CLASSES = [
  "rate_limit",
  "auth",
  "timeout",
  "malformed_output",
  "budget",
  "dependency",
  "external_api",
  "other",
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

/** What a person does about each class, for the board and the digest. */
export const FAILURE_HINTS: Record<FailureClass, string> = {
  rate_limit: "a provider kept refusing for load: retry later",
  auth: "a key or token was refused: fix the credential, then retry",
  timeout: "the work did not finish in time: look at the run, then retry or split it",
  malformed_output: "a model answered in the wrong shape: retry, or tighten the task",
  budget: "a token or cost cap was reached: raise it or skip the task",
  dependency: "something it depends on failed or was cancelled",
  external_api: "an outside service failed or refused the request",
  other: "unclassified: read the reason",
};

const isClass = (v: unknown): v is FailureClass =>
  typeof v === "string" && (FAILURE_CLASSES as readonly string[]).includes(v);

// Older spellings and the provider errors' own `details.class` values.
const ALIASES: Record<string, FailureClass> = {
  upstream: "external_api",
  overloaded: "rate_limit",
  ratelimit: "rate_limit",
  rate_limited: "rate_limit",
  malformed: "malformed_output",
  cap: "budget",
};

const PATTERNS: [RegExp, FailureClass][] = [
  [/\b(429|rate.?limit|too many requests|overloaded|529)\b/i, "rate_limit"],
  [/\b(401|403|unauthori[sz]ed|forbidden|invalid (api )?(key|token)|auth)/i, "auth"],
  [/\b(timed? ?out|timeout|deadline|stuck)\b/i, "timeout"],
  [/\b(malformed|invalid json|did not match|schema)\b/i, "malformed_output"],
  [/\b(budget|token cap|over its cap)\b/i, "budget"],
  [/\b(dependency|depends on)\b/i, "dependency"],
  [/\b(5\d\d|econnrefused|econnreset|network|upstream|hubspot|api)\b/i, "external_api"],
];

/** The class of an error, from its DomainError code and details, else from its message. */
export function classifyFailure(err: unknown): FailureClass {
  if (isDomainError(err)) {
    const declared = err.details?.class;
    if (isClass(declared)) return declared;
    if (typeof declared === "string" && ALIASES[declared]) return ALIASES[declared];
    if (err.details?.reason === "malformed") return "malformed_output";
    switch (err.code) {
      case "RATE_LIMITED":
        return "rate_limit";
      case "UNAUTHORIZED":
      case "FORBIDDEN":
        return "auth";
      case "LIMIT_EXCEEDED":
        return "budget";
      case "UPSTREAM":
      case "UNAVAILABLE":
        return "external_api";
    }
  }
  const message = err instanceof Error ? err.message : typeof err === "string" ? err : "";
  for (const [pattern, cls] of PATTERNS) if (pattern.test(message)) return cls;
  return "other";
}

/** The class a failure reason names (`<class>: …`), else the classifier's reading of its text. */
export function classOfReason(reason: string | null | undefined): FailureClass {
  return splitReason(reason).class;
}

/**
 * A reason read as its class and its detail: the `<class>:` prefix (or an alias of one, like
 * `upstream:`) names the class and is dropped from the detail; without one, the classifier decides
 * and the detail is the whole text.
 */
export function splitReason(reason: string | null | undefined): { class: FailureClass; detail: string } {
  const text = (reason ?? "").trim();
  const head = /^([a-z_]+):\s*/.exec(text);
  const named = head?.[1] ? (isClass(head[1]) ? head[1] : ALIASES[head[1]]) : undefined;
  if (named && head) return { class: named, detail: text.slice(head[0].length).trim() };
  return { class: classifyFailure(text), detail: text };
}

/** A failure reason in the `<class>: message` form every writer uses. */
export const failureReason = (cls: FailureClass, message: string): string => `${cls}: ${message}`;
