// The Hono environment shared by every route: Deps, the request id and the work a route left running
// past its answer (background.ts) live on the context.
import type { Deps } from "../lib/deps.ts";

export type AppEnv = {
  Variables: { deps: Deps; requestId: string; background: Promise<unknown>[] };
};
