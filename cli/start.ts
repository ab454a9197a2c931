// `npm start`: the whole system on the sandbox cluster — sandbox, dev broker, the function servers,
// a scenario mix, a live view and a closing report.
import { resolve } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { writeFileSync } from 'node:fs';
import { RemediationPolicySpec } from '../shared/contracts/index.js';
import { repoRoot } from '../shared/tools/index.js';
import { loadScenarios } from '../sandbox/simulator/scenario.js';
import { examplePolicy, type Pipeline } from './pipeline.js';
import { REPORT_MODES, buildReport, reportLine, type ScenarioRun } from './report.js';
import { incidentBoard, runScenario, type RunSummary } from './run-scenario.js';

const DEFAULT_MIX = ['memory-leak', 'bad-rollout', 'traffic-spike'];

/** Every 15 simulated minutes: workloads, the event flow so far and the incident board. */
function liveView(label: string): (pipeline: Pipeline, events: Readonly<Record<string, number>>) => void {
  let next = 0;
  return (pipeline, events) => {
    const sim = pipeline.sandbox.simulator;
    if (sim.elapsedMs < next) return;
    next += 15 * 60_000;
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
      `[${label} +${Math.round(sim.elapsedMs / 60_000)}m] ${workloads} | ${flow}${board.length ? ` | incidents: ${board.join('; ')}` : ''}`,
    );
  };
}

const RUN_MODES = ['none', 'observe', 'dryRun', 'enforce'] as const;

function printSummary(s: RunSummary): void {
  const o = s.outcome;
  const label = `${s.scenario} (${s.mode})`.padEnd(32);
  console.log(
    `${label} sim=${s.simulatedMinutes}m wall=${s.wallSeconds}s oom=${o.oomKills} restarts=${o.restarts} downtime=${o.downtimeSeconds}s errors=${o.errorSeconds}s degraded=${o.degradedSeconds}s cpu_util=${(o.cpuUtilisation * 100).toFixed(0)}%`,
  );
  const pad = ''.padEnd(32);
  if (s.mode === 'none') return;
  console.log(
    `${pad} events ${Object.entries(s.events)
      .map(([t, n]) => `${t.replace(/^dev\.(kurative|knative)\./, '')}=${n}`)
      .join(' ')}`,
  );
  console.log(
    `${pad} deliveries ${Object.entries(s.deliveries)
      .map(([k, n]) => `${k}=${n}`)
      .join(' ')} dead_letters=${s.deadLetters}`,
  );
  for (const line of s.incidents) console.log(`${pad} incident ${line}`);
  if (s.incidents.length === 0) console.log(`${pad} no incident`);
}

function printComparison(report: ReturnType<typeof buildReport>): void {
  const rows: [string, (m: (typeof report.modes)['none']) => string][] = [
    ['critical incidents', (m) => String(m.criticalIncidents)],
    ['outage minutes', (m) => String(m.outageMinutes)],
    ['OOM kills', (m) => String(m.oomKills)],
    ['crashes', (m) => String(m.crashes)],
    ['MTTD s', (m) => String(m.mttdSeconds ?? '-')],
    ['MTTR s', (m) => `${m.mttrSeconds ?? '-'} (${m.impairedScenarios} hurt)`],
    ['CPU used/requested', (m) => `${(m.utilisation * 100).toFixed(1)}%`],
    ['actions', (m) => String(m.actions)],
    ['false actions', (m) => String(m.falseActions)],
    ['beyond policy', (m) => String(m.actionsBeyondPolicy)],
    ['mutating requests', (m) => String(m.mutatingRequestsInObserve)],
    ['invocations', (m) => `${m.invocations} (${m.invocationsPerIncident ?? '-'}/incident)`],
    ['CPU ms', (m) => `${m.cpuMs ?? '-'} (${m.cpuMsPerIncident ?? '-'}/incident)`],
    [
      'idle cost per hour',
      (m) => `${m.idleInvocationsPerHour ?? '-'} inv, ${m.idleCpuMsPerHour ?? '-'} CPU ms`,
    ],
  ];
  console.log(`\n== with and without kurative (${report.scenarios.join(', ')})`);
  console.log(`${''.padEnd(20)} ${REPORT_MODES.map((m) => m.padEnd(22)).join(' ')}`);
  for (const [name, f] of rows)
    console.log(`${name.padEnd(20)} ${REPORT_MODES.map((m) => f(report.modes[m]).padEnd(22)).join(' ')}`);
  const c = report.claims;
  const x = report.summary;
  console.log(
    `claimed by the seed article: ${c.incidentReduction} % fewer critical incidents, ${c.mttrReduction} % lower MTTR, ${c.utilisationGain} % better utilisation; measured here: ${x.incidentReduction ?? 'n/a'} %, ${x.mttrReduction ?? 'n/a'} %, ${x.utilisationGain ?? 'n/a'} %`,
  );
}

const program = new Command('kurative')
  .description('Run kurative end to end on the sandbox cluster and compare it with no kurative')
  .option('--scenarios <dir>', 'scenario directory (every scenario in it runs unless --scenario names some)')
  .option('--scenario <names...>', `scenarios to run (default: ${DEFAULT_MIX.join(' ')})`)
  .option(
    '--mode <mode>',
    'run one mode only: none | observe | dryRun | enforce (default: compare none, observe, enforce)',
  )
  .option('--json <file>', 'write the report as JSON')
  .option('--dir <dir>', 'working directory for kubeconfigs', resolve(repoRoot, '.sandbox', 'start'))
  .option('--headless', 'no live view')
  .option('--verbose', 'print every function log line')
  .action(
    async (opts: {
      scenarios?: string;
      scenario?: string[];
      mode?: string;
      json?: string;
      dir: string;
      headless?: boolean;
      verbose?: boolean;
    }) => {
      const modes = opts.mode === undefined ? [...REPORT_MODES] : [z.enum(RUN_MODES).parse(opts.mode)];
      const all = loadScenarios(resolve(opts.scenarios ?? resolve(repoRoot, 'sandbox/scenarios')));
      const names =
        opts.scenario ??
        (opts.scenarios ? all.map((s) => s.name) : DEFAULT_MIX.filter((n) => all.some((s) => s.name === n)));
      const chosen = names.map((n) => {
        const s = all.find((x) => x.name === n);
        if (!s) throw new Error(`unknown scenario ${n}; available: ${all.map((x) => x.name).join(', ')}`);
        return s;
      });
      const summaries: RunSummary[] = [];
      const runs: ScenarioRun[] = [];
      for (const scenario of chosen) {
        console.log(`\n▶ ${scenario.name}: ${scenario.description.trim()}`);
        for (const mode of modes) {
          const { summary, run } = await runScenario(scenario, {
            mode,
            dir: opts.dir,
            onLog: (fn, line) => {
              if (opts.verbose || /"level":"(warn|error)"/.test(line))
                process.stderr.write(`[${fn}] ${line}\n`);
            },
            ...(opts.headless ? {} : { onStep: liveView(`${scenario.name} ${mode}`) }),
          });
          summaries.push(summary);
          runs.push(run);
          if (opts.headless)
            console.log(
              `  ${mode.padEnd(8)} done in ${summary.wallSeconds}s: ${summary.incidents.length} incident(s), ${run.remediations.length} remediation event(s)`,
            );
        }
      }
      console.log('\n== runs');
      for (const s of summaries) printSummary(s);
      if (opts.mode !== undefined) return;
      const policies = {
        none: RemediationPolicySpec.parse({}),
        observe: RemediationPolicySpec.parse(examplePolicy('observe').spec),
        enforce: RemediationPolicySpec.parse(examplePolicy('enforce').spec),
      };
      const report = buildReport(runs, policies);
      printComparison(report);
      if (opts.json) {
        // Each mode's figures at the top level too (`none`, `observe`, `enforce`), and under `modes`.
        writeFileSync(resolve(opts.json), `${JSON.stringify({ ...report.modes, ...report }, null, 2)}\n`);
        console.log(`wrote ${resolve(opts.json)}`);
      }
      console.log(reportLine(report));
    },
  );

await program.parseAsync();
