// Token accounting from what the upstream actually reported: `usage` in a JSON completion, or in the
// final chunk of an SSE stream (sent when the client asks with stream_options.include_usage). The
// stream sniffer only reads a copy of the bytes; what the client receives is never altered.
import { StringDecoder } from "node:string_decoder";

export interface Usage {
  input: number;
  output: number;
}

function fromObject(obj: unknown): Usage | undefined {
  const usage = (obj as { usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null)?.usage;
  if (typeof usage !== "object" || usage === null) return undefined;
  const input = typeof usage.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const output = typeof usage.completion_tokens === "number" ? usage.completion_tokens : 0;
  return { input, output };
}

/** Usage from a buffered JSON completion; undefined when the body is not JSON or has no usage. */
export function usageFromJson(body: Buffer): Usage | undefined {
  try {
    return fromObject(JSON.parse(body.toString("utf8")));
  } catch {
    return undefined;
  }
}

// A line longer than this without a newline is not an SSE event we need to read.
const MAX_LINE = 1024 * 1024;
const HAS_USAGE = /"usage"\s*:\s*\{/;

/** Watches SSE bytes go by and keeps the last `usage` object seen in a `data:` event. */
export class SseUsageSniffer {
  readonly #decoder = new StringDecoder("utf8");
  #partial = "";
  usage: Usage | undefined;

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
      this.#line(text.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = text.length - start > MAX_LINE ? "" : text.slice(start);
  }

  #line(line: string): void {
    // Most chunks carry no usage (or "usage":null): skip them without parsing.
    if (!line.startsWith("data:") || !HAS_USAGE.test(line)) return;
    try {
      this.usage = fromObject(JSON.parse(line.slice(5))) ?? this.usage;
    } catch {
      // Not JSON: not a usage event.
    }
  }
}
