// GET /v1/models: the models of the upstreams serving traffic right now, fetched live and merged by id
// (first upstream wins). Only the serving tier is asked, so the list names what a request can reach
// now — the standby's models appear only while it is the one taking traffic.
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { noUpstream } from "./relay.ts";
import { sendError, sendJson } from "./respond.ts";
import { UpstreamClient } from "./upstream-http.ts";
import type { Upstream, UpstreamPool } from "./upstreams.ts";

const ModelList = z.object({ data: z.array(z.looseObject({ id: z.string() })) });
type Model = z.infer<typeof ModelList>["data"][number];

export interface ModelsContext {
  readonly pool: UpstreamPool;
  readonly client: UpstreamClient;
  readonly timeoutMs: number;
  readonly upstreamHeaders: Readonly<Record<string, string>>;
}

async function listOne(ctx: ModelsContext, u: Upstream): Promise<Model[]> {
  const res = await ctx.client.request(u.target, {
    method: "GET",
    path: "/v1/models",
    headers: ctx.upstreamHeaders,
    timeoutMs: ctx.timeoutMs,
  });
  const body = await UpstreamClient.readBody(res, 4 * 1024 * 1024);
  if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
  return ModelList.parse(JSON.parse(body.toString("utf8"))).data;
}

export async function handleModels(ctx: ModelsContext, res: ServerResponse): Promise<void> {
  const serving = ctx.pool.serving();
  if (serving.length === 0) return noUpstream(ctx.pool, res);
  // One upstream failing to list is not fatal; health checks score upstreams, this only lists.
  const lists = await Promise.allSettled(serving.map((u) => listOne(ctx, u)));
  const merged = new Map<string, Model>();
  for (const list of lists) {
    if (list.status === "fulfilled") for (const m of list.value) if (!merged.has(m.id)) merged.set(m.id, m);
  }
  if (lists.every((l) => l.status === "rejected")) {
    return sendError(res, {
      status: 502,
      type: "upstream_error",
      code: "upstream_unreachable",
      message: "No serving upstream returned its model list.",
    });
  }
  sendJson(res, 200, { object: "list", data: [...merged.values()] });
}
