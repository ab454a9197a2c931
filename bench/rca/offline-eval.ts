// Offline evaluation of the RCA ranking (functions/rca) on the sandbox scenarios: runs each fault
// scenario through scrape and score, takes the first 15 minutes of anomalies after the fault,
// ranks causes on the cluster snapshot and compares with the ground truth. A development tool until
// the rca function exists; `npm run bench:rca` will run the real pipeline.
import type { ClusterSnapshot, ObjectView } from '../../functions/rca/topology.js';
import { buildTopology, keyOf } from '../../functions/rca/topology.js';
import { diagnose } from '../../functions/rca/diagnose.js';
import { DiagnosisData } from '../../shared/contracts/index.js';
import { rolloutChanges } from '../../functions/rca/changes.js';
import type { Cluster } from '../../sandbox/apiserver/cluster.js';
import { runScenario, SCENARIOS } from '../../test/support/pipeline.js';

function snapshot(c: Cluster): ClusterSnapshot {
  const l = (s: string) => c.store.list(s) as unknown as ObjectView[];
  return {
    pods: l('/pods'),
    replicaSets: l('apps/replicasets'),
    deployments: l('apps/deployments'),
    statefulSets: l('apps/statefulsets'),
    daemonSets: l('apps/daemonsets'),
    services: l('/services'),
    nodes: l('/nodes'),
    configMaps: l('/configmaps'),
    secrets: l('/secrets'),
    hpas: l('autoscaling/horizontalpodautoscalers'),
  };
}

let top1 = 0;
let top3 = 0;
let classOk = 0;
let n = 0;
for (const s of SCENARIOS.filter((x) => !x.benign && (process.argv[2] ? x.name === process.argv[2] : true))) {
  n++;
  const faultAt = Math.min(...s.faults.map((f) => f.at));
  const run = await runScenario(s);
  const post = run.anomalies.filter((a) => a.minute * 60_000 >= faultAt);
  const first = post[0];
  if (!first) {
    console.log(`${s.name.padEnd(24)} no anomalies`);
    continue;
  }
  const used = post.filter((a) => a.minute <= first.minute + 15).map((a) => a.data);
  const snap = snapshot(run.pipeline.sandbox.simulator.cluster);
  const result = diagnose({
    incidentId: `eval-${s.name}`,
    topology: buildTopology(snap),
    snapshot: snap,
    anomalies: used,
    changes: rolloutChanges(snap),
    now: run.pipeline.sandbox.simulator.clock.epochMs,
  });
  if (!result) continue;
  DiagnosisData.parse(result.diagnosis);
  const ranked = result.ranked;
  const truth = s.truth.rootCause ? keyOf(s.truth.rootCause) : '';
  const position = ranked.findIndex((r) => r.key === truth);
  const faultClass = result.diagnosis.candidates[0]?.faultClass;
  if (position === 0) top1++;
  if (position >= 0 && position < 3) top3++;
  if (faultClass === s.truth.faultClass) classOk++;
  const action = result.diagnosis.recommendedActions[0]?.type;
  const classNote = faultClass === s.truth.faultClass ? '' : ` (truth ${s.truth.faultClass})`;
  const actionNote = action && s.truth.actions.includes(action) ? '' : ' (not in truth)';
  const top = ranked.slice(0, 3).map((r) => `${r.key}:${r.score.toFixed(2)}${r.change ? '*' : ''}`);
  console.log(
    `${s.name.padEnd(24)} position=${position} class=${faultClass}${classNote} action=${action}${actionNote} ${top.join(' | ')}`,
  );
}
console.log(`rca-offline: top1=${top1}/${n} top3=${top3}/${n} class=${classOk}/${n}`);
