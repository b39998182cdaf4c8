// What a CLI command is: its words (`tasks list`), positional arguments, options with their help, and
// a run that prints through the context — the API's JSON as is with --json, the human view otherwise.
import type { Connection } from "./client.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  /** The value's placeholder in help (`STATE`), for string options. */
  value?: string;
  help: string;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Context {
  /** Resolved on first use, so `--help` and usage errors need no URL or token. */
  connection(): Connection;
  json: boolean;
  now: Date;
  /** The terminal's width when stdout is one; tables then fit it. */
  width: number | undefined;
  out(text: string): void;
}

export interface Command {
  words: string[];
  /** Positional names; a trailing `...` takes the rest of the line (a note's text). */
  args: string[];
  summary: string;
  /** More lines for `--help`: what it does, which states it applies in. */
  details?: string;
  options?: Record<string, OptionSpec>;
  run(ctx: Context, args: string[], values: Values): Promise<void>;
}

/** Prints the API's answer with --json, the human view otherwise. */
export function show(ctx: Context, json: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(json, null, 2) : human());
}
