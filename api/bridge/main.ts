// The bridge's entry point (`npm run bridge`): environment → config → listen, and SIGTERM/SIGINT →
// graceful shutdown. A bad environment exits at once with one message listing every bad variable.
import { isDomainError } from "../../lib/errors.ts";
import { type BridgeConfig, parseBridgeEnv } from "./config.ts";
import { createBridge } from "./server.ts";

let config: BridgeConfig;
try {
  config = parseBridgeEnv(process.env);
} catch (err) {
  console.error(isDomainError(err) ? err.message : err);
  process.exit(1);
}

const bridge = createBridge(config);
const url = await bridge.listen().catch((err: unknown) => {
  console.error(
    `Cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
console.log(
  JSON.stringify({
    at: new Date().toISOString(),
    service: "bridge",
    event: "listening",
    url,
    upstreams: config.upstreams.map((u) => `${u.role}:${u.url}${u.guidedJson ? " (guided_json)" : ""}`),
    slots: config.slotsPerUpstream ? `${config.slots} per upstream` : config.slots,
    queue: config.queue,
  }),
);

let stopping = false;
const stop = (signal: string) => {
  // A second signal means "now": skip the drain.
  if (stopping) process.exit(1);
  stopping = true;
  console.log(JSON.stringify({ at: new Date().toISOString(), service: "bridge", event: "draining", signal }));
  bridge.close(config.drainMs).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
