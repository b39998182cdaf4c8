// Reading a request for the JSON API: a JSON body (the content type must say JSON; a body that does not
// parse is a 400 naming `body`; commands may send none) and the optional Idempotency-Key header
// (visible ASCII, 1–200 chars).
import { DomainError } from "../lib/errors.ts";

export async function readJson(req: Request): Promise<unknown> {
  if (!/^application\/json\b/i.test(req.headers.get("content-type") ?? "")) {
    throw new DomainError("VALIDATION", "Send the body as JSON with 'Content-Type: application/json'.", {
      field: "Content-Type",
    });
  }
  const text = await req.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DomainError("VALIDATION", `The body is not valid JSON: ${(err as Error).message}`, {
      field: "body",
    });
  }
}

/** For commands whose body is optional: no body at all is `{}`; a body that is sent must be JSON. */
export async function readOptionalJson(req: Request): Promise<unknown> {
  if (req.headers.get("content-type") !== null) return readJson(req);
  if ((await req.text()) === "") return {};
  throw new DomainError("VALIDATION", "Send the body as JSON with 'Content-Type: application/json'.", {
    field: "Content-Type",
  });
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
