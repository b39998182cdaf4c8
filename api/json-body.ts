// Reading a JSON request body for the JSON API: the content type must say JSON, and a body that does
// not parse is a 400 naming `body` (through api/errors.ts, like every other failure).
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
