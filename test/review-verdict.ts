// The local reviewer fake's verdict, as a model following the review prompt gives it: one entry per
// rubric criterion it was asked about (the prompt numbers them under "Rubric:"), each passing or
// failing as the verdict's first entry does. The review refuses a verdict that leaves criteria out.

interface Verdict {
  criteria: { criterion: string; score: number; pass: boolean; note: string }[];
  verdict: string;
  score: number;
  feedback: string;
}

/** `v` with one criterion entry per rubric line of `request` (an OpenAI-style chat request body). */
export function perCriterion<V extends Verdict>(request: unknown, v: V): V {
  const messages = (request as { messages?: { content?: unknown }[] } | undefined)?.messages ?? [];
  const prompt = messages.map((m) => (typeof m.content === "string" ? m.content : "")).join("\n");
  const asked = /Rubric:\n((?:\d+\. .*(?:\n|$))+)/.exec(prompt)?.[1]?.split("\n").filter(Boolean) ?? [];
  const [first] = v.criteria;
  if (!first || asked.length === 0) return v;
  return { ...v, criteria: asked.map((line) => ({ ...first, criterion: line.replace(/^\d+\. /, "") })) };
}
