// `npm run shakedown -- --mode dry-run|live [--inject …]` (seed 000, Phase 5): seeds a small plan into
// a RUNNING deployment, plays the people (stamps through the API), follows every task's path and
// prints expected vs observed; exit 0 when every path matched, 1 on a mismatch or a timeout, 2 when
// it could not run. It talks to the deployment only through its HTTP API, so it works the same against
// `npm start` with an Inngest dev server, a Node server with its own engine, or the cloud.
import { parseArgs } from "node:util";
import { z } from "zod";
import { crmSetupTools } from "../tools/crm-setup.ts";
import { type ShakedownApi, ShakedownApiError, shakedownApi } from "./api.ts";
import { follow } from "./follow.ts";
import { judge, type Seeded } from "./judge.ts";
import { arrangement, planTasks, SELF_STAGED, ShakedownUsageError, selectScenarios } from "./plan.ts";
import { SCENARIO_IDS, SCENARIOS, type ScenarioId } from "./scenarios.ts";
import { LEGEND, renderTable, summary } from "./table.ts";

export const HELP = `foreman shakedown — run scenarios through a running deployment and compare their paths

usage: npm run shakedown -- --mode dry-run|live [--inject NAME[,NAME…]] [--arranged]
                            [--url URL] [--token TOKEN] [--project ID] [--timeout SECONDS] [--poll SECONDS]

It seeds one plan (POST /api/plans; every task dry_run in dry-run mode), approves every stamp a task
waits for through POST /api/tasks/:id/stamps (the shakedown is the reviewer and the client), follows
each task through GET /api/tasks/:id until it ends or times out, and prints a table of expected and
observed paths. Exit 0: every path matched. 1: a mismatch or a timeout. 2: it could not run (no URL or
token, unreachable, token refused, an injection not arranged, live mode on a dry-run deployment).

  --url, FOREMAN_URL              the deployment's base URL (e.g. http://127.0.0.1:8787)
  --token, FOREMAN_API_TOKEN      its API token (npm start prints it; .foreman/api-token)
  --mode dry-run                  tasks are rehearsals: CRM writes and Slack posts are WOULD_DO records
  --mode live                     tasks act for real (refused while the deployment has FOREMAN_DRY_RUN on)
  --project ID                    seed into this project (default: the default project)
  --timeout SECONDS               per task (default: each scenario's own, 10–60 minutes)
  --poll SECONDS                  how often to read the tasks (default 2)

Scenarios (the table in lib/shakedown/scenarios.ts; the tests in test/lifecycle/shakedown.test.ts
prove the same paths with fakes):
${SCENARIO_IDS.map((id) => `  ${id.padEnd(20)}${SELF_STAGED.includes(id) ? "default " : "staged  "} ${SCENARIOS[id].summary}`).join("\n")}

"default" scenarios run without --inject, in either mode, on any deployment: the command causes them
with the text it seeds and the stamps it gives. On real models that text is a request, not a script:
reviewer-reject's rubric asks for something only a revision can contain, prompt-injection hopes the
worker resists — a model that behaves otherwise shows up as a mismatch, which is what a shakedown is for.
"staged" injections need a person to change the deployment (stop the GPU bridge, revoke the model key,
provoke HubSpot's rate limit): --inject NAME alone prints what to arrange and runs nothing; once it is
arranged, --inject NAME --arranged runs it, alone, and checks the outcome. The command never changes
a deployment's configuration itself.
`;

const args = z.object({
  mode: z.enum(["dry-run", "live"], { error: "--mode must be dry-run or live" }),
  inject: z.string().optional(),
  arranged: z.boolean(),
  url: z.url({ error: "the URL is not valid (e.g. http://127.0.0.1:8787)" }),
  token: z.string().min(1),
  project: z.string().min(1).optional(),
  timeout: z.coerce.number().int().min(5).max(86_400).optional(),
  poll: z.coerce.number().min(0.1).max(60).default(2),
});
type Args = z.infer<typeof args>;

/** node's parseArgs, its refusals (an unknown option, a missing value) as usage errors. */
function parseArgsOrExplain<T extends Parameters<typeof parseArgs>[0]>(config: T) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new ShakedownUsageError((err as Error).message);
  }
}

/** Reads argv and the environment (FOREMAN_URL, FOREMAN_API_TOKEN: the client's settings, not a deployment's). */
export function parseCli(argv: string[], env: Record<string, string | undefined>): Args | "help" {
  const { values } = parseArgsOrExplain({
    args: argv,
    options: {
      mode: { type: "string" },
      inject: { type: "string" },
      arranged: { type: "boolean", default: false },
      url: { type: "string" },
      token: { type: "string" },
      project: { type: "string" },
      timeout: { type: "string" },
      poll: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const url = values.url ?? env.FOREMAN_URL;
  const token = values.token ?? env.FOREMAN_API_TOKEN;
  if (!url || !token) {
    throw new ShakedownUsageError(
      "no deployment given: set FOREMAN_URL and FOREMAN_API_TOKEN (or pass --url and --token).",
    );
  }
  const parsed = args.safeParse({ ...values, url, token });
  if (!parsed.success) throw new ShakedownUsageError(parsed.error.issues.map((i) => i.message).join("; "));
  return parsed.data;
}

const WORKER_TOOLS = {
  allowed: new Set(crmSetupTools.names),
  writes: new Set(crmSetupTools.tools.filter((t) => t.sideEffect).map((t) => t.name)),
};

export async function runShakedown(
  a: Args,
  io: { out: (line: string) => void; api?: ShakedownApi },
): Promise<number> {
  const selection = selectScenarios(a.inject, a.arranged);
  if (selection.kind === "arrange") {
    for (const line of arrangement(selection.id, selection.staging)) io.out(line);
    return 2;
  }
  const api = io.api ?? shakedownApi({ url: a.url, token: a.token });
  const health = await api.health();
  io.out(
    `foreman shakedown · ${a.mode} · ${api.url} (foreman ${health.version}, database ${health.database.driver}, engine ${health.inngest}, FOREMAN_DRY_RUN ${health.dry_run ? "on" : "off"})`,
  );
  if (a.mode === "live" && health.dry_run) {
    throw new ShakedownUsageError(
      "live mode asked, but the deployment runs with FOREMAN_DRY_RUN on, so every task there is a rehearsal: set FOREMAN_DRY_RUN=false on it, or run --mode dry-run.",
    );
  }
  const workers = await api.workers();
  const slots = new Map(workers.map((w) => [w.id, w.slots]));
  const most = Math.max(1, ...workers.filter((w) => w.active).map((w) => w.slots));
  const planned = await api.createPlan({
    title: `shakedown ${a.mode} ${new Date().toISOString()}`,
    ...(a.project ? { project: a.project } : {}),
    tasks: planTasks(selection.ids, { dryRun: a.mode === "dry-run", slots: most }),
  });
  for (const w of planned.warnings ?? []) io.out(`  ! ${w}`);
  const seeded: Seeded[] = planned.tasks.map((t) => ({
    scenario: t.ref.replace(/-\d+$/, "") as ScenarioId,
    ref: t.ref,
    id: t.id,
  }));
  io.out(
    `seeded plan ${planned.plan.id}: ${seeded.length} task(s) for ${selection.ids.join(", ")}; following…`,
  );

  const followed = await follow(api, seeded, {
    pollMs: a.poll * 1000,
    ...(a.timeout ? { timeoutSeconds: a.timeout } : {}),
    say: io.out,
  });
  const verdicts = judge(followed, { slots, tools: WORKER_TOOLS });
  io.out("");
  io.out(renderTable(verdicts));
  io.out(LEGEND);
  io.out(summary(verdicts));
  const staged = selection.ids.map((id) => SCENARIOS[id].staging).find((s) => s.by === "operator");
  if (staged?.by === "operator") io.out(`Now undo the arrangement: ${staged.restore}`);
  return verdicts.every((v) => v.result === "ok") ? 0 : 1;
}

async function main(): Promise<void> {
  try {
    const a = parseCli(process.argv.slice(2), process.env);
    if (a === "help") {
      console.log(HELP);
      return;
    }
    process.exitCode = await runShakedown(a, { out: (line) => console.log(line) });
  } catch (err) {
    const known = err instanceof ShakedownUsageError || err instanceof ShakedownApiError;
    const refused = err instanceof ShakedownApiError && err.status === 401;
    console.error(
      `foreman shakedown: ${refused ? "the API token was refused (401): check --token / FOREMAN_API_TOKEN." : known ? err.message : err}`,
    );
    if (!known) console.error("(run with --help for the usage)");
    process.exitCode = 2;
  }
}

if (import.meta.main) await main();
