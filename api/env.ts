// The Hono environment shared by every route: Deps and the request id live on the context.
import type { Deps } from "../lib/deps.ts";

export type AppEnv = {
  Variables: { deps: Deps; requestId: string };
};
