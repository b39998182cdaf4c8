// The CLI's front: parse the command line (node:util parseArgs, strict), find the command, print help
// (`--help` anywhere, `foreman help …`), run it and turn the outcome into an exit code — 0 done,
// 1 refused by the API or failed, 2 a usage error (unknown command or option, a missing argument, no
// URL or token). Every failure is one line on stderr, prefixed `foreman:`.
import { parseArgs } from "node:util";
import { CliError, resolveConnection } from "./client.ts";
import type { Command, OptionSpec, Values } from "./command.ts";
import { opsCommands } from "./ops.ts";
import { taskCommands } from "./tasks.ts";

export const COMMANDS: Command[] = [...taskCommands, ...opsCommands];

const GLOBAL: Record<string, OptionSpec> = {
  url: {
    type: "string",
    value: "URL",
    help: "the foreman server (FOREMAN_URL; default beside npm start: http://127.0.0.1:8787)",
  },
  token: {
    type: "string",
    value: "TOKEN",
    help: "the API token (FOREMAN_API_TOKEN; default for a local server: .foreman/api-token)",
  },
  as: {
    type: "string",
    value: "NAME",
    help: "who you are in the task log (FOREMAN_ACTOR; default: your login name)",
  },
  json: { type: "boolean", help: "print the API's JSON instead of tables" },
  help: { type: "boolean", help: "show help (-h)" },
};

export interface Io {
  argv: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  out(text: string): void;
  err(text: string): void;
  /** The terminal's width when stdout is a terminal. */
  width?: number | undefined;
  now?: () => Date;
}

const optionsUsage = (opts: Record<string, OptionSpec> = {}) =>
  Object.entries(opts)
    .map(([name, o]) => (o.type === "string" ? `[--${name} ${o.value ?? "VALUE"}]` : `[--${name}]`))
    .join(" ");

const optionLines = (opts: Record<string, OptionSpec>) =>
  Object.entries(opts).map(([name, o]) => {
    const flag = o.type === "string" ? `--${name} ${o.value ?? "VALUE"}` : `--${name}`;
    return `  ${flag.padEnd(24)} ${o.help}`;
  });

const usageOf = (c: Command) =>
  ["foreman", ...c.words, ...c.args, optionsUsage(c.options)].filter(Boolean).join(" ");

function commandHelp(c: Command): string {
  const lines = [`usage: ${usageOf(c)}`, "", c.summary];
  if (c.details) lines.push(c.details);
  if (c.options) lines.push("", "options:", ...optionLines(c.options));
  lines.push("", "global options:", ...optionLines(GLOBAL));
  return lines.join("\n");
}

function listHelp(commands: Command[], title: string): string {
  const width = Math.max(...commands.map((c) => [...c.words, ...c.args].join(" ").length));
  return [
    title,
    "",
    "commands:",
    ...commands.map((c) => `  ${[...c.words, ...c.args].join(" ").padEnd(width)}  ${c.summary}`),
    "",
    "global options:",
    ...optionLines(GLOBAL),
    "",
    "Connects to FOREMAN_URL with FOREMAN_API_TOKEN (or --url / --token). Beside `npm start` neither is",
    "needed: the local server's token is read from .foreman/api-token (FOREMAN_DATA_DIR).",
    "`foreman COMMAND --help` for a command's options. Exit: 0 done, 1 refused or failed, 2 usage.",
  ].join("\n");
}

const OVERALL = () => listHelp(COMMANDS, "foreman: the task queue from the command line");

/** Every option any command takes, for one strict parse; each command then refuses the others. */
function allOptions() {
  const all: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const c of COMMANDS) for (const [k, o] of Object.entries(c.options ?? {})) all[k] = { type: o.type };
  for (const [k, o] of Object.entries(GLOBAL)) all[k] = { type: o.type };
  all.help = { type: "boolean", short: "h" };
  return all;
}

/** parseArgs' messages, shortened to what was wrong. */
function parseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const option = /'(-[^' ]+)/.exec(e.message ?? "")?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option ${option}`;
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return `${option} needs a value`;
  return (e.message ?? String(err)).split(/\.\s/)[0] ?? "bad arguments";
}

export async function main(io: Io): Promise<number> {
  /** A usage error: one line, `<who>: <what> (see: <help>)`, exit 2. */
  const usage = (who: string, message: string, hint: string) => {
    io.err(`${who}: ${message} (see: ${hint})`);
    return 2;
  };
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: io.argv,
      options: allOptions(),
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    return usage("foreman", parseError(err), "foreman --help");
  }
  const wantsHelp = values.help === true || positionals[0] === "help";
  const words = positionals[0] === "help" ? positionals.slice(1) : positionals;
  const command = [...COMMANDS]
    .sort((a, b) => b.words.length - a.words.length)
    .find((c) => c.words.every((w, i) => words[i] === w));

  if (!command) {
    const group = COMMANDS.filter(
      (c) => words[0] !== undefined && c.words[0] === words[0] && c.words.length > 1,
    );
    if (words.length === 0 || (group.length > 0 && words.length === 1)) {
      const text = group.length > 0 ? listHelp(group, `foreman ${words[0]}: one of`) : OVERALL();
      if (wantsHelp) {
        io.out(text);
        return 0;
      }
      io.err(text);
      return 2;
    }
    return usage("foreman", `unknown command '${words.join(" ")}'`, "foreman --help");
  }
  if (wantsHelp) {
    io.out(commandHelp(command));
    return 0;
  }

  const name = `foreman ${command.words.join(" ")}`;
  const hint = `${name} --help`;
  for (const key of Object.keys(values)) {
    if (!(key in GLOBAL) && !(key in (command.options ?? {}))) return usage(name, `takes no --${key}`, hint);
  }
  const args = words.slice(command.words.length);
  const variadic = command.args.at(-1)?.endsWith("...") ?? false;
  const missing = command.args.slice(args.length);
  if (missing.length > 0) return usage(name, `missing ${missing.join(" ").replace("...", "")}`, hint);
  if (!variadic && args.length > command.args.length) {
    return usage(name, `unexpected argument '${args[command.args.length]}'`, hint);
  }

  let connection: ReturnType<typeof resolveConnection> | undefined;
  const json = values.json === true;
  try {
    await command.run(
      {
        connection: () => {
          connection ??= resolveConnection({
            url: values.url as string | undefined,
            token: values.token as string | undefined,
            as: values.as as string | undefined,
            env: io.env,
            cwd: io.cwd,
          });
          return connection;
        },
        json,
        now: io.now?.() ?? new Date(),
        width: io.width,
        out: io.out,
      },
      args,
      values,
    );
    return 0;
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`foreman: ${err.message}`);
      if (json && err.body !== undefined) io.out(JSON.stringify(err.body, null, 2));
      return err.exit;
    }
    io.err(`foreman: unexpected failure: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
