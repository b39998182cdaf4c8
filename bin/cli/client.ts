// Talking to foreman's API: where (--url, FOREMAN_URL) and with which token (--token,
// FOREMAN_API_TOKEN), plus the local default — the server `npm start` runs on 127.0.0.1:8787 and the
// token it generated into its data dir (FOREMAN_DATA_DIR, default .foreman/api-token), so `npx foreman
// tasks list` works beside `npm start` with nothing set. That token is only ever sent to a loopback
// address, never to a remote URL. Every failure becomes one line: the API's message, status, code and
// field, or why the server could not be reached.
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { ACTOR_NAME } from "../../api/actor.ts";

export const LOCAL_URL = "http://127.0.0.1:8787";

/** A failure the CLI reports in one line; `exit` 1 = refused or failed, 2 = usage. */
export class CliError extends Error {
  readonly exit: 1 | 2;
  /** The API's error body, printed as is with --json. */
  readonly body: unknown;
  constructor(message: string, exit: 1 | 2, body?: unknown) {
    super(message);
    this.name = "CliError";
    this.exit = exit;
    this.body = body;
  }
}

export interface Connection {
  url: string;
  token: string;
  actor: string | undefined;
}

export interface ConnectionInput {
  url?: string | undefined;
  token?: string | undefined;
  as?: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

function loginName(): string | undefined {
  try {
    const name = userInfo().username;
    return ACTOR_NAME.test(name) ? name : undefined;
  } catch {
    return undefined; // no passwd entry (some containers): the API records plain `api`
  }
}

export function resolveConnection(input: ConnectionInput): Connection {
  const { env } = input;
  const dataDir = resolve(input.cwd, env.FOREMAN_DATA_DIR || ".foreman");
  const tokenFile = join(dataDir, "api-token");
  const localToken = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() || undefined : undefined;

  const url = input.url || env.FOREMAN_URL || (localToken ? LOCAL_URL : undefined);
  if (!url && !(input.token || env.FOREMAN_API_TOKEN)) {
    throw new CliError(
      `no server to talk to: set FOREMAN_URL and FOREMAN_API_TOKEN (or pass --url and --token); beside npm start neither is needed once it has written ${tokenFile}`,
      2,
    );
  }
  if (!url) {
    throw new CliError(`no server URL: set FOREMAN_URL or pass --url (npm start serves ${LOCAL_URL})`, 2);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--url / FOREMAN_URL must be an http(s) URL, not '${url}'`, 2);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`--url / FOREMAN_URL must be an http(s) URL, not '${url}'`, 2);
  }
  const token =
    input.token || env.FOREMAN_API_TOKEN || (LOOPBACK.has(parsed.hostname) ? localToken : undefined);
  if (!token) {
    throw new CliError(
      `no API token: set FOREMAN_API_TOKEN or pass --token (npm start prints it and keeps it in ${tokenFile})`,
      2,
    );
  }
  const actor = input.as || env.FOREMAN_ACTOR || loginName();
  if (actor !== undefined && !ACTOR_NAME.test(actor)) {
    throw new CliError("--as / FOREMAN_ACTOR must be 1–64 letters, digits or . _ @ + -", 2);
  }
  return { url: url.replace(/\/+$/, ""), token, actor };
}

interface ErrorBody {
  error?: { code?: string; message?: string; field?: string };
}

/** Calls the API; answers its JSON, or throws a CliError with the one line to print. */
export async function call(
  conn: Connection,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<unknown> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${conn.token}`,
    accept: "application/json",
  };
  if (conn.actor) headers["foreman-actor"] = conn.actor;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${conn.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new CliError(`cannot reach ${conn.url} (${why}): is foreman running there? (npm start)`, 1);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.ok) return json;
  const e = (json as ErrorBody | undefined)?.error;
  if (!e?.message) {
    throw new CliError(`${method} ${path}: ${res.status} ${res.statusText} from ${conn.url}`, 1, json);
  }
  const where = `${res.status}${e.code ? ` ${e.code}` : ""}${e.field ? `, field ${e.field}` : ""}`;
  const hint = res.status === 401 ? " — check FOREMAN_API_TOKEN / --token" : "";
  throw new CliError(`${e.message} (${where})${hint}`, 1, json);
}
