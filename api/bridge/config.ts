// The bridge's configuration: every BRIDGE_* variable, parsed once with zod at start-up. A bad
// environment fails with ONE message naming every bad variable, so an operator fixes them in one go.
// Nothing else in the bridge reads process.env; createBridge() takes the parsed BridgeConfig.
import { z } from "zod";
import { DomainError } from "../../lib/errors.ts";

export type UpstreamRole = "active" | "standby";

export interface UpstreamConfig {
  /** Origin (plus any path prefix) without a trailing "/v1": requests go to `${url}/v1/...`. */
  readonly url: string;
  readonly role: UpstreamRole;
  /** vLLM without native json_schema: response_format json_schema is rewritten to guided_json. */
  readonly guidedJson: boolean;
}

export interface BridgeConfig {
  readonly upstreams: readonly UpstreamConfig[];
  readonly tokens: readonly string[];
  readonly host: string;
  readonly port: number;
  readonly slots: number;
  readonly slotsPerUpstream: boolean;
  readonly queue: number;
  readonly queueTimeoutMs: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retryAfterS: number;
  readonly maxBodyBytes: number;
  readonly healthIntervalMs: number;
  readonly healthPath: string;
  readonly healthTimeoutMs: number;
  readonly failThreshold: number;
  readonly cooldownMs: number;
  readonly drainMs: number;
  readonly upstreamApiKey: string | undefined;
}

/** "http://h:8000/v1/" and "http://h:8000" name the same upstream: both become "http://h:8000". */
export function normalizeUpstreamUrl(raw: string): string {
  return raw.trim().replace(/\/+$/, "").replace(/\/v1$/, "");
}

// An empty variable (common in .env files) means "unset", so defaults apply.
const unsetIfEmpty = (v: unknown) => (typeof v === "string" && v.trim() === "" ? undefined : v);
const list = (v: unknown) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "")
    : v;

const int = (min: number, fallback: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).default(fallback));
const bool = (fallback: boolean) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .enum(["true", "false", "1", "0"])
      .default(fallback ? "true" : "false")
      .transform((s) => s === "true" || s === "1"),
  );
const httpUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
  .transform(normalizeUpstreamUrl);
const urls = z.preprocess(list, z.array(httpUrl));

const EnvSchema = z
  .object({
    BRIDGE_UPSTREAMS: z.preprocess(
      list,
      z
        .array(httpUrl, { error: "is required: comma-separated upstream base URLs" })
        .min(1, "needs at least one upstream base URL"),
    ),
    BRIDGE_STANDBY: z.preprocess(unsetIfEmpty, urls.default([])),
    BRIDGE_VLLM_GUIDED_JSON: z.preprocess(unsetIfEmpty, urls.default([])),
    BRIDGE_TOKENS: z.preprocess(
      list,
      z
        .array(z.string().min(8, "each token needs at least 8 characters"), {
          error: "is required: comma-separated bearer tokens",
        })
        .min(1, "needs at least one token: the bridge never runs unauthenticated"),
    ),
    BRIDGE_HOST: z.preprocess(unsetIfEmpty, z.string().default("127.0.0.1")),
    BRIDGE_PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(8788)),
    BRIDGE_SLOTS: int(1, 2),
    BRIDGE_SLOTS_PER_UPSTREAM: bool(false),
    BRIDGE_QUEUE: int(0, 32),
    BRIDGE_QUEUE_TIMEOUT_MS: int(1, 30_000),
    BRIDGE_TIMEOUT_MS: int(1, 300_000),
    BRIDGE_CONNECT_TIMEOUT_MS: int(1, 3_000),
    BRIDGE_RETRY_AFTER_S: int(1, 2),
    BRIDGE_MAX_BODY_BYTES: int(1, 4 * 1024 * 1024),
    BRIDGE_HEALTH_INTERVAL_MS: int(0, 5_000),
    BRIDGE_HEALTH_PATH: z.preprocess(unsetIfEmpty, z.string().startsWith("/").default("/v1/models")),
    BRIDGE_HEALTH_TIMEOUT_MS: int(1, 2_000),
    BRIDGE_FAIL_THRESHOLD: int(1, 3),
    BRIDGE_COOLDOWN_MS: int(1, 15_000),
    BRIDGE_DRAIN_MS: int(0, 30_000),
    BRIDGE_UPSTREAM_API_KEY: z.preprocess(unsetIfEmpty, z.string().optional()),
  })
  .superRefine((env, ctx) => {
    const seen = new Set<string>();
    for (const url of [...env.BRIDGE_UPSTREAMS, ...env.BRIDGE_STANDBY]) {
      if (seen.has(url))
        ctx.addIssue({ code: "custom", path: ["BRIDGE_STANDBY"], message: `${url} is listed twice` });
      seen.add(url);
    }
    for (const url of env.BRIDGE_VLLM_GUIDED_JSON) {
      if (!seen.has(url))
        ctx.addIssue({
          code: "custom",
          path: ["BRIDGE_VLLM_GUIDED_JSON"],
          message: `${url} is not in BRIDGE_UPSTREAMS or BRIDGE_STANDBY`,
        });
    }
  });

/** Parses BRIDGE_* variables; throws one DomainError("CONFIG") that lists every bad variable. */
export function parseBridgeEnv(env: Record<string, string | undefined>): BridgeConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new DomainError("CONFIG", `Invalid bridge configuration:\n${lines.join("\n")}`, {
      details: { variables: [...new Set(parsed.error.issues.map((i) => String(i.path[0])))] },
    });
  }
  const e = parsed.data;
  const guided = new Set(e.BRIDGE_VLLM_GUIDED_JSON);
  const upstream = (role: UpstreamRole) => (url: string) => ({ url, role, guidedJson: guided.has(url) });
  return {
    upstreams: [...e.BRIDGE_UPSTREAMS.map(upstream("active")), ...e.BRIDGE_STANDBY.map(upstream("standby"))],
    tokens: e.BRIDGE_TOKENS,
    host: e.BRIDGE_HOST,
    port: e.BRIDGE_PORT,
    slots: e.BRIDGE_SLOTS,
    slotsPerUpstream: e.BRIDGE_SLOTS_PER_UPSTREAM,
    queue: e.BRIDGE_QUEUE,
    queueTimeoutMs: e.BRIDGE_QUEUE_TIMEOUT_MS,
    timeoutMs: e.BRIDGE_TIMEOUT_MS,
    connectTimeoutMs: e.BRIDGE_CONNECT_TIMEOUT_MS,
    retryAfterS: e.BRIDGE_RETRY_AFTER_S,
    maxBodyBytes: e.BRIDGE_MAX_BODY_BYTES,
    healthIntervalMs: e.BRIDGE_HEALTH_INTERVAL_MS,
    healthPath: e.BRIDGE_HEALTH_PATH,
    healthTimeoutMs: e.BRIDGE_HEALTH_TIMEOUT_MS,
    failThreshold: e.BRIDGE_FAIL_THRESHOLD,
    cooldownMs: e.BRIDGE_COOLDOWN_MS,
    drainMs: e.BRIDGE_DRAIN_MS,
    upstreamApiKey: e.BRIDGE_UPSTREAM_API_KEY,
  };
}
