// `npm start`: the whole system on the sandbox cluster — sandbox, dev broker, the function servers,
// a scenario mix, a live view and a closing report.
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { CloudEventV1 } from 'cloudevents';
import { Mode } from '../shared/contracts/index.js';
import { repoRoot } from '../shared/tools/index.js';
import { loadScenarios, type Scenario } from '../sandbox/simulator/scenario.js';
import { Pipeline } from './pipeline.js';

const DEFAULT_MIX = ['memory-leak', 'bad-rollout', 'traffic-spike'];

interface RunSummary {
  scenario: string;
  benign: boolean;
  simulatedMinutes: number;
  wallSeconds: number;
  events: Record<string, number>;
  deliveries: Record<string, number>;
  deadLetters: number;
  outcome: ReturnType<Pipeline['sandbox']['simulator']['outcome']>;
  /** The Incident board at the end: one line per incident. */
  incidents: string[];
}

/** `kubectl get incidents`-like lines from the cluster's Incident objects. */
function incidentBoard(pipeline: Pipeline): string[] {
  return pipeline.sandbox.simulator.cluster.store.list('kurative.dev/incidents').map((i) => {
    const st = (i['status'] ?? {}) as {
      phase?: string;
      severity?: string;
      rootCause?: string;
      faultClass?: string;
      confidence?: number;
      anomalies?: number;
    };
    return `${i.metadata.name} ${st.phase ?? '-'} ${st.severity ?? '-'} root=${st.rootCause ?? '-'} class=${st.faultClass ?? '-'} confidence=${st.confidence ?? '-'} anomalies=${st.anomalies ?? 0}`;
  });
}

async function runScenario(
  scenario: Scenario,
  opts: { mode: Mode; dir: string; headless: boolean; verbose: boolean },
): Promise<RunSummary> {
  const events: Record<string, number> = {};
  const pipeline = await Pipeline.start({
    scenario,
    dir: resolve(opts.dir, scenario.name),
    mode: opts.mode,
    onEvent: (e: CloudEventV1<unknown>) => {
      events[e.type] = (events[e.type] ?? 0) + 1;
    },
    onLog: (fn, line) => {
      if (opts.verbose || /"level":"(warn|error)"/.test(line)) process.stderr.write(`[${fn}] ${line}\n`);
    },
  });
  const started = performance.now();
  const sim = pipeline.sandbox.simulator;
  let nextReport = 0;
  try {
    while (!sim.done) {
      await pipeline.step();
      if (!opts.headless && sim.elapsedMs >= nextReport) {
        nextReport += 15 * 60_000;
        const workloads = [...sim.ctx.workloads.values()]
          .map(
            (w) =>
              `${w.name} ${w.signals.readyReplicas}/${w.signals.desiredReplicas}${w.signals.errorRatio > 0.05 ? ` err ${(w.signals.errorRatio * 100).toFixed(0)}%` : ''}`,
          )
          .join(', ');
        const flow = Object.entries(events)
          .map(([t, n]) => `${t.replace(/^dev\.(kurative|knative)\./, '')}=${n}`)
          .join(' ');
        const board = incidentBoard(pipeline).map((l) => l.split(' ').slice(0, 5).join(' '));
        console.log(
          `[${scenario.name} +${Math.round(sim.elapsedMs / 60_000)}m] ${workloads} | ${flow}${board.length ? ` | incidents: ${board.join('; ')}` : ''}`,
        );
      }
    }
  } finally {
    await pipeline.close();
  }
  const deliveries: Record<string, number> = {};
  for (const d of pipeline.broker.history)
    deliveries[`${d.function}:${d.outcome}`] = (deliveries[`${d.function}:${d.outcome}`] ?? 0) + 1;
  return {
    scenario: scenario.name,
    benign: scenario.benign,
    simulatedMinutes: Math.round(sim.elapsedMs / 60_000),
    wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    events,
    deliveries,
    deadLetters: pipeline.broker.deadLetters.length,
    outcome: sim.outcome(),
    incidents: incidentBoard(pipeline),
  };
}

const program = new Command('kurative')
  .description('Run kurative end to end on the sandbox cluster')
  .option('--scenarios <dir>', 'scenario directory', resolve(repoRoot, 'sandbox/scenarios'))
  .option('--scenario <names...>', `scenarios to run (default: ${DEFAULT_MIX.join(' ')})`)
  .option('--mode <mode>', 'observe | dryRun | enforce', 'observe')
  .option('--dir <dir>', 'working directory for kubeconfigs', resolve(repoRoot, '.sandbox', 'start'))
  .option('--headless', 'no live view')
  .option('--verbose', 'print every function log line')
  .action(
    async (opts: {
      scenarios: string;
      scenario?: string[];
      mode: string;
      dir: string;
      headless?: boolean;
      verbose?: boolean;
    }) => {
      const mode = Mode.parse(opts.mode);
      const all = loadScenarios(resolve(opts.scenarios));
      const names = opts.scenario ?? DEFAULT_MIX.filter((n) => all.some((s) => s.name === n));
      const chosen = names.map((n) => {
        const s = all.find((x) => x.name === n);
        if (!s) throw new Error(`unknown scenario ${n}; available: ${all.map((x) => x.name).join(', ')}`);
        return s;
      });
      const summaries: RunSummary[] = [];
      for (const scenario of chosen) {
        console.log(`\n▶ ${scenario.name}: ${scenario.description.trim()}`);
        summaries.push(
          await runScenario(scenario, {
            mode,
            dir: opts.dir,
            headless: opts.headless ?? false,
            verbose: opts.verbose ?? false,
          }),
        );
      }
      console.log('\n== report');
      for (const s of summaries) {
        const o = s.outcome;
        console.log(
          `${s.scenario.padEnd(22)} sim=${s.simulatedMinutes}m wall=${s.wallSeconds}s oom=${o.oomKills} restarts=${o.restarts} downtime=${o.downtimeSeconds}s errors=${o.errorSeconds}s degraded=${o.degradedSeconds}s cpu_util=${(o.cpuUtilisation * 100).toFixed(0)}%`,
        );
        console.log(
          `${''.padEnd(22)} events ${Object.entries(s.events)
            .map(([t, n]) => `${t}=${n}`)
            .join(' ')}`,
        );
        console.log(
          `${''.padEnd(22)} deliveries ${Object.entries(s.deliveries)
            .map(([k, n]) => `${k}=${n}`)
            .join(' ')} dead_letters=${s.deadLetters}`,
        );
        for (const line of s.incidents) console.log(`${''.padEnd(22)} incident ${line}`);
        if (s.incidents.length === 0) console.log(`${''.padEnd(22)} no incident`);
      }
    },
  );

await program.parseAsync();
