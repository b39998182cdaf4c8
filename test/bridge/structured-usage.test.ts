// Structured output and accounting: json_schema passes through untouched, is rewritten to guided_json
// only for upstreams marked as vLLM-without-json_schema, and the token and request counters in
// /metrics add up to exactly what the fake upstream reported.
import { afterEach, describe, expect, it } from "vitest";
import { type OpenAIUpstream, startOpenAIUpstream } from "../fakes/openai-upstream.ts";
import { chat, chatBody, scrape, startBridge } from "./harness.ts";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function setup(fakeOverrides: Partial<OpenAIUpstream["behaviour"]>, markGuided: boolean) {
  const up = await startOpenAIUpstream(fakeOverrides);
  const b = await startBridge(
    { active: [up.url] },
    markGuided ? { BRIDGE_VLLM_GUIDED_JSON: `${up.url}/v1` } : {},
  );
  closers.push(async () => {
    await b.close();
    await up.close();
  });
  return { up, b };
}

const schema = {
  type: "object",
  properties: { verdict: { type: "string", enum: ["pass", "fail"] }, score: { type: "integer" } },
  required: ["verdict", "score"],
  additionalProperties: false,
};
const structured = chatBody({
  response_format: { type: "json_schema", json_schema: { name: "review", schema, strict: true } },
});

type Completion = {
  choices: Array<{ message: { content: string } }>;
  usage: { prompt_tokens: number; completion_tokens: number };
};

describe("structured output", () => {
  it("passes response_format json_schema through to an upstream that supports it", async () => {
    const { up, b } = await setup({}, false);
    const res = await chat(b.url, structured);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Completion;
    expect(JSON.parse(body.choices[0]?.message.content as string)).toEqual({ verdict: "pass", score: 7 });
    expect(up.callsTo("POST", "/v1/chat/completions")[0]?.body).toBe(JSON.stringify(structured));
  });

  it("maps json_schema to guided_json for an upstream marked as vLLM without native support", async () => {
    const { up, b } = await setup({ nativeJsonSchema: false }, true);
    const res = await chat(b.url, structured);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Completion;
    expect(JSON.parse(body.choices[0]?.message.content as string)).toEqual({ verdict: "pass", score: 7 });
    const sent = up.requests[0] as Record<string, unknown>;
    expect(sent.guided_json).toEqual(schema);
    expect(sent).not.toHaveProperty("response_format");
    expect(sent.messages).toEqual(structured.messages);
  });

  it("without the marker, such an upstream's refusal is passed through unchanged", async () => {
    const { b } = await setup({ nativeJsonSchema: false }, false);
    const res = await chat(b.url, structured);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain("guided_json");
  });

  it("forwards other requests to a marked upstream in the client's own bytes", async () => {
    const { up, b } = await setup({ nativeJsonSchema: false }, true);
    const raw =
      '{ "model": "fake-model", "messages": [{"role":"user","content":"plain"}], "temperature": 0.2 }';
    expect((await chat(b.url, raw)).status).toBe(200);
    expect(up.callsTo("POST", "/v1/chat/completions")[0]?.body).toBe(raw);
  });

  it("refuses a json_schema response_format without its schema object", async () => {
    const { up, b } = await setup({}, false);
    const res = await chat(b.url, chatBody({ response_format: { type: "json_schema" } }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe(
      "response_format.json_schema",
    );
    expect(up.callsTo("POST", "/v1/chat/completions")).toHaveLength(0);
  });
});

describe("usage and metrics", () => {
  it("counts exactly the tokens, requests and latencies the upstream served", async () => {
    const { b } = await setup({}, false);
    let input = 0;
    let output = 0;
    for (const content of ["a", "bb", "a longer prompt", "x".repeat(100)]) {
      const res = await chat(b.url, chatBody({ messages: [{ role: "user", content }] }));
      const { usage } = (await res.json()) as Completion;
      input += usage.prompt_tokens;
      output += usage.completion_tokens;
    }
    const json = (await (await chat(b.url, structured)).json()) as Completion;
    input += json.usage.prompt_tokens;
    output += json.usage.completion_tokens;
    expect((await chat(b.url, "{not json")).status).toBe(400);

    const m = await scrape(b.url);
    expect(input).toBe(1 + 2 + 15 + 100 + 14);
    expect(m.get('bridge_tokens_total{direction="in"}')).toBe(input);
    expect(m.get('bridge_tokens_total{direction="out"}')).toBe(output);
    expect(m.get('bridge_requests_total{route="/v1/chat/completions",status="200"}')).toBe(5);
    expect(m.get('bridge_requests_total{route="/v1/chat/completions",status="400"}')).toBe(1);
    expect(m.get("bridge_request_duration_seconds_count")).toBe(6);
    expect(m.get('bridge_request_duration_seconds_bucket{le="+Inf"}')).toBe(6);
    expect(m.get("bridge_queue_wait_seconds_count")).toBe(5); // the bad request never queued
    expect(m.get("bridge_slots_busy")).toBe(0);
    expect(m.get("bridge_slots_total")).toBe(2);
  });
});
