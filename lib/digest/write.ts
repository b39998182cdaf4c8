// Write: the digest's summary from the local model (JSON from summary.ts's zod schema, one repair
// for an answer that is malformed or quotes a number the data does not hold), metered as purpose
// "digest" under the run's key — or, when no local model is configured, it is down or busy, or it
// answered badly twice, the deterministic template with the same numbers, saying why. Never throws
// for the model: the digest goes out either way.
import type { Deps } from "../deps.ts";
import { isDomainError } from "../errors.ts";
import { costUsd, priceFor } from "../llm/cost.ts";
import { type ChatResult, spentOf, withRepair } from "../llm/local.ts";
import { recordUsage } from "../llm/meter.ts";
import type { Digest } from "./shape.ts";
import { inventedNumbers, summaryAnswer, summaryPrompt, templateSummary } from "./summary.ts";

export type DigestSummary =
  | { source: "model"; text: string; model: string }
  | { source: "template"; text: string; why: string };

const template = (d: Digest, why: string): DigestSummary => ({
  source: "template",
  text: templateSummary(d),
  why: why.slice(0, 300),
});

export async function writeSummary(
  deps: Pick<Deps, "db" | "config" | "local" | "logger">,
  digest: Digest,
  /** The run's key (`${runId}:digest`): each answered call meters once under it. */
  key: string,
): Promise<DigestSummary> {
  if (!deps.local) return template(digest, "no local model is configured (BRIDGE_URL)");
  const messages = summaryPrompt(digest, key.replace(/[^\w-]/g, "").slice(-16) || "digest");
  const meter = (model: string, u: { input: number; output: number }, meterAs: string) => {
    const usage = { input: u.input, output: u.output, cacheRead: 0, cacheWrite: 0 };
    return recordUsage(
      deps.db,
      {
        provider: "bridge",
        model,
        tier: "local",
        usage,
        costUsd: costUsd(usage, priceFor(model, "local", deps.config.MODEL_PRICES)),
      },
      { key: meterAs, purpose: "digest" },
    );
  };
  let problem = "";
  for (let attempt = 1; attempt <= 2; attempt++) {
    let answer: ChatResult<{ summary: string }>;
    try {
      answer = await deps.local.chat({
        messages: withRepair(messages, problem),
        jsonSchema: { name: "digest_summary", schema: summaryAnswer },
        temperature: 0.2,
        maxTokens: 400,
      });
    } catch (err) {
      if (isDomainError(err) && err.code === "VALIDATION") {
        // A malformed answer was still computed: its tokens count like the answer's.
        const spent = spentOf(err);
        if (spent) await meter(spent.model, spent.usage, `${key}:unused${attempt}`);
        problem = err.message.slice(0, 300);
        continue;
      }
      deps.logger.warn("digest: local model unavailable, using the template", {
        error: (err as Error).message,
      });
      return template(digest, `the local model is unavailable: ${(err as Error).message}`);
    }
    await meter(answer.model, answer.usage, attempt === 1 ? key : `${key}:repair`);
    const invented = inventedNumbers(answer.json.summary, digest);
    if (invented.length === 0) return { source: "model", text: answer.json.summary, model: answer.model };
    problem = `it quotes ${invented.join(", ")}, which the data does not hold; use only the numbers given`;
  }
  deps.logger.warn("digest: the local model answered badly twice, using the template", { problem });
  return template(digest, `the local model answered badly twice: ${problem}`);
}
