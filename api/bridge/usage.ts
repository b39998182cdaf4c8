// Token accounting from what the upstream actually reported: `usage` in a JSON completion, or in the
// final chunk of an SSE stream (sent when the request asks with stream_options.include_usage). The
// sniffer only reads a copy of the bytes the client receives. The stripper is for streams where the
// bridge itself asked for usage: it reads the usage-only chunk and removes that one event (its data
// line and the blank line ending it), relaying every other byte unchanged; usage riding on a chunk
// with choices (the finish chunk, on some servers) is read and the chunk relayed as it is.
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

const NEWLINE = 0x0a;
const USAGE_KEY = Buffer.from('"usage"');

/**
 * The usage a chunk carries, and whether it is a usage-only chunk (`"choices": []` or none) the
 * stripper may remove; some servers put usage on the finish chunk, with its choices, which is kept.
 */
function chunkUsage(line: string): { usage: Usage; only: boolean } | undefined {
  if (!line.startsWith("data:") || !HAS_USAGE.test(line)) return undefined;
  try {
    const obj = JSON.parse(line.slice(5)) as { choices?: unknown };
    const usage = fromObject(obj);
    if (!usage) return undefined;
    const only = Array.isArray(obj.choices) ? obj.choices.length === 0 : obj.choices === undefined;
    return { usage, only };
  } catch {
    return undefined;
  }
}

/**
 * Filters an SSE stream whose usage chunk the client did not ask for. Bytes are relayed per complete
 * line (an SSE event is only usable once its line ends); a partial line waits for its newline, and
 * `flush()` hands over whatever is left when the stream ends or breaks, so nothing else is lost.
 */
export class SseUsageStripper {
  #partial: Buffer | undefined;
  #dropBlank = false;
  usage: Usage | undefined;

  /** Returns the bytes to relay for this chunk (possibly empty). */
  push(chunk: Buffer): Buffer {
    const data = this.#partial ? Buffer.concat([this.#partial, chunk]) : chunk;
    const last = data.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.#partial = data.length > MAX_LINE ? undefined : data;
      return data.length > MAX_LINE ? data : EMPTY;
    }
    this.#partial = last === data.length - 1 ? undefined : data.subarray(last + 1);
    const complete = last === data.length - 1 ? data : data.subarray(0, last + 1);
    // Most chunks carry no usage at all: relay them as they are, without splitting lines.
    if (!this.#dropBlank && complete.indexOf(USAGE_KEY) === -1) return complete;
    const kept: Buffer[] = [];
    let start = 0;
    let keptFrom = 0;
    while (start < complete.length) {
      const nl = complete.indexOf(NEWLINE, start);
      const end = nl + 1;
      const line = complete.subarray(start, nl);
      let drop = false;
      if (this.#dropBlank) {
        this.#dropBlank = false;
        drop = line.length === 0 || (line.length === 1 && line[0] === 0x0d);
      } else if (line.indexOf(USAGE_KEY) !== -1) {
        const found = chunkUsage(line.toString("utf8"));
        if (found) this.usage = found.usage;
        if (found?.only) {
          this.#dropBlank = true;
          drop = true;
        }
      }
      if (drop) {
        if (start > keptFrom) kept.push(complete.subarray(keptFrom, start));
        keptFrom = end;
      }
      start = end;
    }
    if (keptFrom < complete.length) kept.push(complete.subarray(keptFrom));
    return kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept);
  }

  /** What is still held back (a last line without its newline); empty when nothing is. */
  flush(): Buffer {
    const rest = this.#partial ?? EMPTY;
    this.#partial = undefined;
    return rest;
  }
}

const EMPTY = Buffer.alloc(0);
