// The fake OpenAI-compatible inference server for tests: api/bridge/fake-routes.ts's routes on the
// startFake harness (random loopback port, call log, fault injection).
import {
  createUpstreamState,
  defaultBehaviour,
  openaiRoutes,
  type UpstreamBehaviour,
  type UpstreamState,
} from "../../api/bridge/fake-routes.ts";
import { type FakeServer, startFake } from "./server.ts";

export * from "../../api/bridge/fake-routes.ts";

export interface OpenAIUpstream extends FakeServer, UpstreamState {
  readonly behaviour: UpstreamBehaviour;
}

/** Starts the fake on a random loopback port. Tweak `behaviour` at any time; it is read per request. */
export async function startOpenAIUpstream(
  overrides: Partial<UpstreamBehaviour> = {},
): Promise<OpenAIUpstream> {
  const behaviour = { ...defaultBehaviour(), ...overrides };
  const state = createUpstreamState();
  const fake = await startFake(openaiRoutes(behaviour, state));
  const resetCalls = fake.reset;
  return Object.assign(fake, {
    behaviour,
    stats: state.stats,
    sent: state.sent,
    requests: state.requests,
    hold: state.hold,
    release: state.release,
    /** Clears calls, faults, recorded requests and streams, and the counters (not what is in flight). */
    reset() {
      resetCalls();
      state.sent.length = 0;
      state.requests.length = 0;
      Object.assign(state.stats, { maxInFlight: state.stats.inFlight, completed: 0, aborted: 0 });
    },
  });
}
