// `npm run bench:rca [-- --scenarios <dir>] [--perturb]`: every scenario through the real pipeline (scrape,
// score, rca as functions-framework handlers on the dev broker, against the sandbox), then the
// incident each fault produced is compared with the scenario's ground truth.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { DiagnosisData, EVENT_TYPES } from '../../shared/contracts/index.js';
import { repoRoot } from '../../shared/tools/index.js';
import { loadScenarios } from '../../sandbox/simulator/scenario.js';
import { keyOf } from '../../functions/rca/topology.js';
import { runScenario } from '../../test/support/pipeline.js';
import { PERTURBED_SUFFIX, perturbScenarios } from './perturb.js';

/**
 * Confidence from which an incident would be acted on (policy's default minimum). One diagnosed as
 * benign (load, not a fault) recommends nothing and is not counted against a benign scenario.
 */
const ACTION_CONFIDENCE = 0.5;

/** Each incident's latest diagnosis: the highest revision (deliveries may arrive out of order). */
function latestByIncident(diagnoses: readonly DiagnosisData[]): Map<string, DiagnosisData> {
  const latest = new Map<string, DiagnosisData>();
  for (const d of diagnoses) {
    const seen = latest.get(d.incidentId);
    if (!seen || (d.sequence ?? 0) >= (seen.sequence ?? 0)) latest.set(d.incidentId, d);
  }
  return latest;
}

const program = new Command('bench:rca')
  .option('--scenarios <dir>', 'scenario directory', resolve(repoRoot, 'sandbox/scenarios'))
  .option('--only <name>', 'run one scenario')
  .option(
    '--perturb',
    'run perturbed copies instead: another seed, namespaces renamed, faults 7 minutes later',
  )
  .action(async (opts: { scenarios: string; only?: string; perturb?: boolean }) => {
    const dir = opts.perturb
      ? perturbScenarios(resolve(opts.scenarios), mkdtempSync(join(tmpdir(), 'kurative-perturbed-')))
      : resolve(opts.scenarios);
    const scenarios = loadScenarios(dir).filter(
      (s) => !opts.only || s.name === opts.only || s.name === `${opts.only}${PERTURBED_SUFFIX}`,
    );
    let faults = 0;
    let top1 = 0;
    let top3 = 0;
    let classOk = 0;
    let benignIncidents = 0;
    const started = performance.now();
    for (const s of scenarios) {
      const t0 = performance.now();
      const run = await runScenario(s);
      const faultAt =
        run.pipeline.sandbox.simulator.startMs + Math.min(Infinity, ...s.faults.map((f) => f.at));
      const diagnoses = run.events
        .filter((e) => e.type === EVENT_TYPES.diagnosis)
        .map((e) => DiagnosisData.parse(e.data));
      const ms = Math.round(performance.now() - t0);
      if (s.benign) {
        // Each incident judged on its latest diagnosis, as a fault's is: policy decides nothing
        // before the group wait, so the first diagnoses of a scrape are not acted on.
        const actionable = new Set(
          [...latestByIncident(diagnoses).values()]
            .filter(
              (d) =>
                (d.candidates[0]?.confidence ?? 0) >= ACTION_CONFIDENCE &&
                d.candidates[0]?.faultClass !== 'benign',
            )
            .map((d) => d.incidentId),
        );
        benignIncidents += actionable.size;
        console.log(`${s.name.padEnd(24)} benign incidents=${actionable.size} (${ms} ms)`);
        continue;
      }
      faults++;
      // The incident the fault caused: the first opened after it; judged on its latest diagnosis.
      const after = diagnoses.filter((d) => Date.parse(d.diagnosedAt) >= faultAt);
      const incidentId = after[0]?.incidentId;
      const latest = incidentId === undefined ? undefined : latestByIncident(after).get(incidentId);
      const truth = s.truth.rootCause ? keyOf(s.truth.rootCause) : '';
      const ranked = (latest?.candidates ?? []).map((c) => keyOf(c.object));
      const position = ranked.indexOf(truth);
      if (position === 0) top1++;
      if (position >= 0 && position < 3) top3++;
      const faultClass = latest?.candidates[0]?.faultClass;
      if (faultClass === s.truth.faultClass) classOk++;
      console.log(
        `${s.name.padEnd(24)} position=${position} class=${faultClass ?? '-'}${faultClass === s.truth.faultClass ? '' : ` (truth ${s.truth.faultClass})`} root=${ranked[0] ?? '-'} (${ms} ms)`,
      );
    }
    const pct = (x: number) => (faults === 0 ? '0.0' : ((100 * x) / faults).toFixed(1));
    console.log(`rca scenarios in ${Math.round((performance.now() - started) / 1000)} s`);
    console.log(
      `rca: top1=${pct(top1)} top3=${pct(top3)} class=${pct(classOk)} scenarios=${scenarios.length} benign_incidents=${benignIncidents}`,
    );
  });
await program.parseAsync();
