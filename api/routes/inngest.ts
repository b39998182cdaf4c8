// /api/inngest: the Inngest serve endpoint (GET introspect, PUT sync, POST run) for every function.
import { Hono } from "hono";
import { serve } from "inngest/hono";
import { inngest } from "../../functions/client.ts";
import { functions } from "../../functions/index.ts";
import type { AppEnv } from "../env.ts";

const handler = serve({ client: inngest, functions });

export const inngestRoutes = new Hono<AppEnv>().on(["GET", "PUT", "POST"], "/", (c) => handler(c));
