// `npm run bench:rca-latency`: diagnosis latency for an incident of 50 anomalies on a 10 000-pod,
// 500-node topology; graph building reported apart from ranking and explanation.
import { median } from 'simple-statistics';
import type { AnomalyData } from '../../shared/contracts/index.js';
import { diagnose } from '../../functions/rca/diagnose.js';
import { buildTopology, type ClusterSnapshot, type ObjectView } from '../../functions/rca/topology.js';

const PODS = Number(process.env['RCA_PODS'] ?? 10_000);
const NODES = Number(process.env['RCA_NODES'] ?? 500);
const PER_DEPLOYMENT = 8;
const RUNS = 9;

/** A synthetic cluster: namespaces of deployments calling each other, pods spread over nodes. */
function cluster(): ClusterSnapshot {
  const deployments: ObjectView[] = [];
  const replicaSets: ObjectView[] = [];
  const pods: ObjectView[] = [];
  const services: ObjectView[] = [];
  const configMaps: ObjectView[] = [];
  const nodes: ObjectView[] = Array.from({ length: NODES }, (_, i) => ({
    metadata: { name: `node-${i}`, uid: `n${i}` },
  }));
  const count = Math.ceil(PODS / PER_DEPLOYMENT);
  for (let d = 0; d < count; d++) {
    const ns = `ns-${Math.floor(d / 10)}`;
    const name = `app-${d}`;
    const callee = d % 10 === 9 ? '' : `app-${d + 1}`;
    deployments.push({
      metadata: {
        name,
        namespace: ns,
        uid: `d${d}`,
        annotations: callee ? { 'kurative.dev/depends-on': callee } : {},
      },
    });
    replicaSets.push({
      metadata: {
        name: `${name}-r1`,
        namespace: ns,
        uid: `r${d}`,
        ownerReferences: [{ kind: 'Deployment', name, uid: `d${d}`, controller: true }],
        annotations: { 'deployment.kubernetes.io/revision': '1' },
        creationTimestamp: '2026-01-01T00:00:00Z',
      },
    });
    services.push({ metadata: { name, namespace: ns }, spec: { selector: { app: name } } });
    configMaps.push({ metadata: { name: `${name}-config`, namespace: ns } });
    for (let p = 0; p < PER_DEPLOYMENT && pods.length < PODS; p++) {
      pods.push({
        metadata: {
          name: `${name}-${p}`,
          namespace: ns,
          uid: `p${d}-${p}`,
          labels: { app: name },
          ownerReferences: [{ kind: 'ReplicaSet', name: `${name}-r1`, uid: `r${d}`, controller: true }],
        },
        spec: {
          nodeName: `node-${(d * PER_DEPLOYMENT + p) % NODES}`,
          containers: [{ name: 'app', envFrom: [{ configMapRef: { name: `${name}-config` } }] }],
        },
      });
    }
  }
  return {
    pods,
    replicaSets,
    deployments,
    statefulSets: [],
    daemonSets: [],
    services,
    nodes,
    configMaps,
    secrets: [],
    hpas: [],
  };
}

/** 50 anomalies around one failing deployment and its callers. */
function incident(snapshot: ClusterSnapshot): AnomalyData[] {
  const at = '2026-01-01T01:00:00Z';
  return snapshot.pods.slice(40, 90).map((p, i) => ({
    anomalyId: `a${i}`,
    entity: {
      kind: 'Pod',
      namespace: p.metadata?.namespace ?? '',
      name: p.metadata?.name ?? '',
      container: 'app',
    },
    signal: i % 2 ? 'k8s:CrashLoopBackOff' : 'cpu_usage_cores',
    kind: i % 2 ? 'symptom' : 'deviation',
    detector: 'bench',
    score: 1,
    threshold: 0.9,
    severity: i < 8 ? 'critical' : 'warning',
    onset: at,
    observedAt: at,
    ...(i % 2 ? { reason: 'CrashLoopBackOff' } : {}),
  }));
}

const snapshot = cluster();
const anomalies = incident(snapshot);
const graphMs: number[] = [];
const diagnoseMs: number[] = [];
let rss = 0;
const gc = (globalThis as { gc?: () => void }).gc;
for (let r = 0; r < RUNS; r++) {
  // Collect the previous run's garbage first, so the RSS is this diagnosis's, not leftovers.
  gc?.();
  const t0 = performance.now();
  const topology = buildTopology(snapshot);
  const t1 = performance.now();
  const result = diagnose({
    incidentId: 'bench',
    topology,
    snapshot,
    anomalies,
    changes: [],
    now: Date.parse('2026-01-01T01:05:00Z'),
  });
  const t2 = performance.now();
  if (!result) throw new Error('no diagnosis');
  graphMs.push(t1 - t0);
  diagnoseMs.push(t2 - t1);
  rss = Math.max(rss, process.memoryUsage().rss);
}
console.log(
  `rca-latency pods=${snapshot.pods.length} nodes=${snapshot.nodes.length} anomalies=${anomalies.length} runs=${RUNS}`,
);
console.log(
  `rca-latency: diagnose_ms=${median(diagnoseMs).toFixed(1)} graph_ms=${median(graphMs).toFixed(1)} rss_mb=${Math.round(rss / 2 ** 20)}`,
);
