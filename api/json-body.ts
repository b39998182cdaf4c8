// Reading a request for the JSON API: a JSON body (the content type must say JSON; a body that does not
// parse is a 400 naming `body`; commands may send none) and the optional Idempotency-Key header
// (visible ASCII, 1–200 chars).
import { DomainError } from "../lib/errors.ts";

const isJson = (req: Request) => /^application\/json\b/i.test(req.headers.get("content-type") ?? "");

const notJson = () =>
  new DomainError("VALIDATION", "Send the body as JSON with 'Content-Type: application/json'.", {
    field: "Content-Type",
  });

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DomainError("VALIDATION", `The body is not valid JSON: ${(err as Error).message}`, {
      field: "body",
    });
  }
}

export async function readJson(req: Request): Promise<unknown> {
  if (!isJson(req)) throw notJson();
  return parse(await req.text());
}

/**
 * For commands whose body is optional: no body (or only whitespace) is `{}`, whatever the content type
 * says — `curl -H 'Content-Type: application/json' -X POST` sends none; a body that is sent must be JSON.
 */
export async function readOptionalJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.trim() === "") return {};
  if (!isJson(req)) throw notJson();
  return parse(text);
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

/** The Idempotency-Key header, or undefined; a malformed one is a 400 naming the header. */
export function readIdempotencyKey(req: Request): string | undefined {
  const key = req.headers.get("idempotency-key") ?? undefined;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError("VALIDATION", "Idempotency-Key must be 1–200 visible ASCII characters.", {
      field: "Idempotency-Key",
    });
  }
  return key;
}
