import type {
  AnomalyData,
  DiagnosisData,
  Evidence,
  ObjectRef,
  PathStep,
  Severity,
} from '../../shared/contracts/index.js';
import type { Change } from './changes.js';
import {
  classifyFault,
  cpuFollowsDemand,
  DEMAND_RISE,
  LOAD_WIDE_WORKLOADS,
  moreRequests,
  recommendActions,
  risesAboveBaseline,
  type ClassifyInput,
} from './classify.js';
import { causalPath, rankCauses, type RankedCause } from './rank.js';
import { NEAR_LIMIT, parseQuantity, withinReservation } from '../../shared/quantity/index.js';
import { promoteNeighbour, starvingNeighbour, type StarvingNeighbour } from './neighbours.js';
import {
  containerResources,
  limitedContainers,
  keyOf,
  servingWorkload,
  workloadOf,
  type ClusterSnapshot,
  type PodSpecView,
  type ServiceDemand,
  type Topology,
} from './topology.js';

/** The objects an anomaly counts for: itself, its pod's workload, a service's backing workloads. */
export function ownersOf(topology: Topology, a: AnomalyData): Set<string> {
  const k = keyOf(a.entity);
  const out = new Set([k]);
  if (a.entity.kind === 'Pod' || a.entity.kind === 'ReplicaSet') {
    const w = workloadOf(topology, k);
    if (w) out.add(w);
  }
  if (a.entity.kind === 'Service') {
    for (const e of topology.in.get(k) ?? []) {
      const w = e.relation === 'serves' ? servingWorkload(topology, e.from) : undefined;
      if (w) out.add(w);
    }
  }
  return out;
}

/** The CPU each container of the root's pod template requests and may use, by container name. */
interface CpuBounds {
  readonly requests: ReadonlyMap<string, number>;
  readonly limits: ReadonlyMap<string, number>;
}

/**
 * What the root workload's pod template (looked up once) says of its containers: whether they all
 * have CPU and memory limits (undefined when the root is no workload in the snapshot), and their CPU
 * requests and limits.
 */
function rootResources(
  snapshot: ClusterSnapshot,
  root: ObjectRef,
): {
  cpu: boolean | undefined;
  memory: boolean | undefined;
  cpuBounds: CpuBounds;
  placesNoPod: boolean;
} {
  const all = [...snapshot.deployments, ...snapshot.statefulSets, ...snapshot.daemonSets];
  const w = all.find((o) => o.metadata?.name === root.name && o.metadata?.namespace === root.namespace);
  const spec = (w?.spec as { template?: { spec?: PodSpecView } } | undefined)?.template?.spec;
  const cpuBounds = {
    requests: containerResources(spec, 'requests', 'cpu'),
    limits: containerResources(spec, 'limits', 'cpu'),
  };
  const placesNoPod =
    root.kind === 'DaemonSet' &&
    (w?.status as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled === 0 &&
    snapshot.nodes.length > 0;
  if (!spec?.containers) return { cpu: undefined, memory: undefined, cpuBounds, placesNoPod };
  return {
    cpu: limitedContainers(spec, 'cpu'),
    memory: limitedContainers(spec, 'memory'),
    cpuBounds,
    placesNoPod,
  };
}

/**
 * Whether the root's CPU deviations all stay within their containers' requests and short of their
 * limits (and there is at least one): its pods are busier, but within what they reserved and not
 * throttled (a container whose request is its limit runs into it).
 */
function cpuWithinRequests(own: readonly AnomalyData[], bounds: CpuBounds): boolean {
  const cpu = own.filter((a) => a.signal === 'cpu_usage_cores' && a.entity.kind === 'Pod');
  return (
    cpu.length > 0 &&
    cpu.every((a) => {
      const container = a.entity.container ?? '';
      return (
        a.value !== undefined &&
        withinReservation({
          value: a.value,
          request: bounds.requests.get(container),
          limit: bounds.limits.get(container),
        })
      );
    })
  );
}

/** CPU use per container, by "namespace/pod/container", from the PodMetrics in the snapshot. */
function cpuUsage(snapshot: ClusterSnapshot): Map<string, string> {
  const usage = new Map<string, string>();
  for (const m of snapshot.podMetrics ?? []) {
    const { name = '', namespace = '' } = m.metadata ?? {};
    for (const c of m.containers ?? [])
      if (c.usage?.cpu !== undefined) usage.set(`${namespace}/${name}/${c.name ?? ''}`, c.usage.cpu);
  }
  return usage;
}

/**
 * The root workload's containers that use at least NEAR_LIMIT of their CPU limit now (throttled), as
 * "pod/container 480m of 500m"; undefined when there are no usage figures for its pods.
 */
export function cpuSaturation(
  snapshot: ClusterSnapshot,
  topology: Topology,
  root: ObjectRef,
): string[] | undefined {
  if (!snapshot.podMetrics) return undefined;
  const rootKey = keyOf(root);
  const usage = cpuUsage(snapshot);
  let measured = false;
  const saturated: string[] = [];
  for (const pod of snapshot.pods) {
    const { name = '', namespace = '' } = pod.metadata ?? {};
    if (workloadOf(topology, keyOf({ kind: 'Pod', namespace, name })) !== rootKey) continue;
    for (const c of (pod.spec as PodSpecView | undefined)?.containers ?? []) {
      const used = usage.get(`${namespace}/${name}/${c.name ?? ''}`);
      if (used === undefined) continue;
      measured = true;
      const limit = c.resources?.limits?.['cpu'];
      if ((parseQuantity(used) ?? 0) >= NEAR_LIMIT * (parseQuantity(limit) || Infinity))
        saturated.push(`${name}/${c.name ?? ''} ${used} of ${limit ?? ''}`);
    }
  }
  return measured ? saturated : undefined;
}

/**
 * The evidence and the sentence for what CPU says: the neighbour taking a node's CPU when it is the
 * cause, else the cause's containers at their CPU limit (none when neither).
 */
function cpuNote(
  root: ObjectRef,
  saturated: readonly string[] | undefined,
  now: number,
  neighbour: StarvingNeighbour | undefined,
): { evidence: Evidence[]; note: string } {
  if (neighbour) {
    const description = `pod ${neighbour.pod} uses ${neighbour.usage} with no CPU limit, ${neighbour.effect}`;
    return {
      evidence: [{ object: root, kind: 'metric', at: iso(now), description }],
      note: `Its ${description}.`,
    };
  }
  if (!saturated || saturated.length === 0) return { evidence: [], note: '' };
  return {
    evidence: [
      {
        object: root,
        kind: 'metric',
        at: iso(now),
        description: `CPU at its limit (throttled): ${saturated.slice(0, 5).join(', ')}`,
      },
    ],
    note: `Its pods run at their CPU limit: ${saturated.slice(0, 3).join(', ')}.`,
  };
}

/**
 * Pods that cannot be scheduled because of a node taint they do not tolerate, in a workload that
 * did not change: the environment changed, not the workload — the tainted nodes go first.
 */
function promoteBlockingNodes(
  ranked: RankedCause[],
  anomalies: readonly AnomalyData[],
  snapshot: ClusterSnapshot,
  topology: Topology,
): RankedCause[] {
  const top = ranked[0];
  if (!top || top.object.kind === 'Node' || top.change?.kind === 'rollout') return ranked;
  const taintKeys = new Set<string>();
  for (const a of anomalies) {
    if (a.reason !== 'FailedScheduling' || !ownersOf(topology, a).has(top.key)) continue;
    for (const m of (a.message ?? '').matchAll(/untolerated taint \{([^:}]+):/g))
      if (m[1]) taintKeys.add(m[1].trim());
  }
  if (taintKeys.size === 0) return ranked;
  const tainted = snapshot.nodes.filter((n) =>
    ((n.spec as { taints?: { key: string }[] } | undefined)?.taints ?? []).some(
      (t) => taintKeys.has(t.key) && !t.key.startsWith('node.kubernetes.io/'),
    ),
  );
  if (tainted.length === 0) return ranked;
  const promoted: RankedCause[] = tainted.map((n, i) => {
    const key = keyOf({ kind: 'Node', name: n.metadata?.name ?? '' });
    const existing = ranked.find((r) => r.key === key);
    return {
      key,
      object: topology.nodes.get(key) ?? { kind: 'Node', name: n.metadata?.name ?? '' },
      score: top.score * (1.01 - i * 0.001),
      walk: existing?.walk ?? 0,
      self: existing?.self ?? 0,
      change: existing?.change,
    };
  });
  const keys = new Set(promoted.map((p) => p.key));
  return [...promoted, ...ranked.filter((r) => !keys.has(r.key))];
}

/** The requests to the root's Services, summed, before the onset and since. */
interface RootDemand {
  readonly services: readonly ServiceDemand[];
  readonly before: number;
  readonly since: number;
  /** How many times it rose (since over before; undefined without a usual rate to compare with). */
  readonly rise: number | undefined;
}

/** The demand on the Services the root's pods serve (no services, no rise, when none has a rate). */
function rootDemand(topology: Topology, snapshot: ClusterSnapshot, root: ObjectRef): RootDemand {
  const rootKey = keyOf(root);
  const served = new Set(
    topology.edges
      .filter((e) => e.relation === 'serves' && servingWorkload(topology, e.from) === rootKey)
      .map((e) => e.to),
  );
  const mine = (snapshot.demand ?? []).filter((d) =>
    served.has(keyOf({ kind: 'Service', namespace: d.namespace, name: d.service })),
  );
  const before = mine.reduce((s, d) => s + d.before, 0);
  const since = mine.reduce((s, d) => s + d.since, 0);
  return { services: mine, before, since, rise: before > 0 ? since / before : undefined };
}

/** A surge (or a loss) of the requests to the root's Services: evidence either way. */
function demandEvidence(demand: RootDemand, now: number): Evidence[] {
  const rise = demand.rise;
  if (rise === undefined || Math.abs(Math.log(rise)) < Math.log(DEMAND_RISE)) return [];
  return demand.services.map((d) => ({
    object: { kind: 'Service', namespace: d.namespace, name: d.service },
    kind: 'metric',
    at: iso(now),
    description: `requests ${d.before.toFixed(1)}/s before the onset, ${d.since.toFixed(1)}/s since`,
    value: d.since,
    baseline: d.before,
  }));
}

/** What the explanation says when more requests (`load`: see moreRequests) explain the CPU. */
function loadNote(faultClass: string, input: ClassifyInput, demand: RootDemand, load: boolean): string {
  const cpuRising = input.cpuRisingWorkloads ?? 0;
  const why = cpuFollowsDemand(input.own, input.demandRise)
    ? `Requests to ${demand.services.map((d) => `${d.namespace}/${d.service}`).join(', ')} rose ${(input.demandRise ?? 0).toFixed(1)}× (${demand.before.toFixed(1)}/s → ${demand.since.toFixed(1)}/s) and its CPU rose with them`
    : cpuRising >= LOAD_WIDE_WORKLOADS
      ? `CPU rose together on ${cpuRising} workloads`
      : input.cpuWithinRequests
        ? "Its pods' CPU rose within what they request"
        : undefined;
  if (faultClass === 'benign' && why)
    return `${why} while nothing failed: load, not a fault. Nothing to do; adding replicas is the autoscaler's job.`;
  if (faultClass === 'pod-cpu-hog' && why && load)
    return `${why}: more requests, not a runaway pod, so replicas are added rather than pods restarted.`;
  return '';
}

/** Workloads whose pods' CPU deviates upward in the incident. */
function cpuRisingWorkloads(topology: Topology, anomalies: readonly AnomalyData[]): number {
  const rising = new Set<string>();
  for (const a of anomalies) {
    if (a.signal !== 'cpu_usage_cores' || !risesAboveBaseline(a)) continue;
    const w = workloadOf(topology, keyOf(a.entity));
    if (w) rising.add(w);
  }
  return rising.size;
}

const severityRank: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
const iso = (ms: number) => new Date(ms).toISOString();

function describe(key: string): string {
  const [kind, ns, name] = key.split('/');
  return ns ? `${kind} ${ns}/${name}` : `${kind} ${name}`;
}

/** What the explanation says of the change that preceded the onset on the root. */
function changeNote(change: Change | undefined, onset: number): string {
  if (!change) return 'No change to it preceded the onset.';
  const before = (at: number) => Math.max(0, Math.round((onset - at) / 60_000));
  const changed = `It changed ${before(change.at)} min before the onset: ${change.description}.`;
  return change.effectiveAt !== undefined && change.effectiveAt > change.at
    ? `${changed} It took effect when a pod reading it started, ${before(change.effectiveAt)} min before the onset.`
    : changed;
}

/**
 * A pod reads its ConfigMaps and Secrets when it starts, so a config change (an edit, a deletion)
 * hurts only when a pod starts after it — a pod deleted an hour after an edit comes back with it
 * and crash-loops, while its siblings started before run on. Such a change takes effect when the
 * first abnormal pod reading it started after it; the change prior counts from then.
 */
export function configTakesEffect(
  changes: readonly Change[],
  topology: Topology,
  snapshot: ClusterSnapshot,
  anomalies: readonly AnomalyData[],
): Change[] {
  const abnormal = new Set(anomalies.filter((a) => a.entity.kind === 'Pod').map((a) => keyOf(a.entity)));
  const started = new Map<string, number>();
  for (const p of snapshot.pods) {
    const key = keyOf({ kind: 'Pod', namespace: p.metadata?.namespace, name: p.metadata?.name ?? '' });
    const at = new Date(p.metadata?.creationTimestamp ?? Number.NaN).getTime();
    if (abnormal.has(key) && Number.isFinite(at)) started.set(key, at);
  }
  return changes.map((c) => {
    if (c.kind !== 'config') return c;
    const after = (topology.out.get(c.object) ?? [])
      .filter((e) => e.relation === 'configures')
      .map((e) => started.get(e.to))
      .filter((t): t is number => t !== undefined && t >= c.at);
    return after.length > 0 ? { ...c, effectiveAt: Math.min(...after) } : c;
  });
}

/** When an incident began: its earliest anomaly's onset (ms). */
export const incidentOnset = (anomalies: readonly AnomalyData[]): number =>
  Math.min(...anomalies.map((a) => Date.parse(a.onset)));

/**
 * Diagnose one incident: rank causes, classify the fault, trace the causal path from the cause to
 * every affected object, collect the evidence for each step, explain it and recommend actions.
 */
export function diagnose(input: {
  incidentId: string;
  topology: Topology;
  snapshot: ClusterSnapshot;
  anomalies: readonly AnomalyData[];
  changes: readonly Change[];
  now: number;
  /** The incident's revision (see DiagnosisData.sequence). */
  sequence?: number;
}): { diagnosis: DiagnosisData; ranked: RankedCause[] } | undefined {
  const { topology, anomalies } = input;
  if (anomalies.length === 0) return undefined;
  const onset = incidentOnset(anomalies);
  const changes = configTakesEffect(input.changes, topology, input.snapshot, anomalies);
  const blocking = promoteBlockingNodes(
    rankCauses(topology, anomalies, changes, onset),
    anomalies,
    input.snapshot,
    topology,
  );
  const implicated = new Set(anomalies.flatMap((a) => [...ownersOf(topology, a)]));
  const neighbour = starvingNeighbour(input.snapshot, topology, anomalies, implicated, blocking[0]);
  const ranked = promoteNeighbour(blocking, neighbour, topology);
  const top = ranked[0];
  if (!top) return undefined;
  const total = ranked.slice(0, 3).reduce((s, r) => s + r.score, 0);
  const own = anomalies.filter(
    (a) =>
      ownersOf(topology, a).has(top.key) ||
      (top.object.kind === 'Node' && a.entity.kind === 'Node' && a.entity.name === top.object.name),
  );
  const {
    cpu: cpuLimit,
    memory: memoryLimit,
    cpuBounds,
    placesNoPod,
  } = rootResources(input.snapshot, top.object);
  const cpuRising = cpuRisingWorkloads(topology, anomalies);
  const saturated = cpuSaturation(input.snapshot, topology, top.object);
  const starving = neighbour?.key === top.key ? neighbour : undefined;
  const demand = rootDemand(topology, input.snapshot, top.object);
  const classifyInput: ClassifyInput = {
    root: top.object,
    own,
    all: anomalies,
    change: top.change,
    cpuRisingWorkloads: cpuRising,
    ...(cpuLimit === undefined ? {} : { cpuLimited: cpuLimit }),
    memoryLimited: memoryLimit,
    ...(saturated === undefined ? {} : { cpuSaturated: saturated.length > 0 }),
    starvesNode: starving !== undefined,
    cpuWithinRequests: cpuWithinRequests(own, cpuBounds),
    demandRise: demand.rise,
    placesNoPod,
  };
  const faultClass = classifyFault(classifyInput);
  const load = moreRequests(classifyInput);
  // Evidence: every anomaly, and the change that preceded the onset.
  const evidence: Evidence[] = anomalies.slice(0, 50).map((a) => ({
    object: a.entity,
    kind: a.kind === 'symptom' ? 'event' : 'metric',
    at: a.observedAt,
    description: a.message || `${a.signal} abnormal (${a.detector})`,
    ...(a.value === undefined ? {} : { value: a.value }),
    ...(a.baseline ? { baseline: a.baseline.level } : {}),
  }));
  const cpu = cpuNote(top.object, saturated, input.now, starving);
  evidence.push(...cpu.evidence);
  evidence.push(...demandEvidence(demand, input.now));
  if (top.change)
    evidence.push({
      object: top.object,
      kind: 'change',
      at: iso(top.change.at),
      description: top.change.description,
    });
  const evidenceFor = (key: string) =>
    evidence.flatMap((e, i) =>
      keyOf(e.object) === key || (e.object.kind === 'Pod' && workloadOf(topology, keyOf(e.object)) === key)
        ? [i]
        : [],
    );
  // Causal path: from the cause to each affected object, as edges with their evidence.
  const affected = [...new Set(anomalies.map((a) => keyOf(a.entity)))].filter((k) => k !== top.key);
  const steps = new Map<string, PathStep>();
  for (const target of affected) {
    const path = causalPath(topology, top.key, target) ?? [];
    for (let i = 0; i + 1 < path.length; i++) {
      const from = path[i] as string;
      const to = path[i + 1] as string;
      const edge = (topology.out.get(from) ?? []).find((e) => e.to === to);
      const fromRef = topology.nodes.get(from);
      const toRef = topology.nodes.get(to);
      if (!edge || !fromRef || !toRef) continue;
      steps.set(`${from}>${to}`, {
        from: fromRef,
        to: toRef,
        relation: edge.relation,
        evidence: evidenceFor(to).slice(0, 10),
      });
    }
  }
  const severity = anomalies.reduce<Severity>(
    (s, a) => (severityRank[a.severity] > severityRank[s] ? a.severity : s),
    'info',
  );
  const consumer =
    top.object.kind === 'ConfigMap' || top.object.kind === 'Secret'
      ? (topology.out.get(top.key) ?? []).map((e) => workloadOf(topology, e.to)).find((w) => w !== undefined)
      : undefined;
  const consumerRef = consumer ? topology.nodes.get(consumer) : undefined;
  const actions = recommendActions(faultClass, {
    root: top.object,
    rollout: top.change?.kind === 'rollout',
    load,
    memoryLimited: memoryLimit,
    ...(top.change ? { change: top.change } : {}),
    ...(consumerRef ? { consumer: consumerRef } : {}),
  });
  const runnersUp = ranked
    .slice(1, 3)
    .map((r) => `${describe(r.key)} (${(r.score / (total || 1)).toFixed(2)})`);
  const explanation = [
    `${describe(top.key)} is the most likely cause (${faultClass}) of ${anomalies.length} anomalies on ${affected.length + 1} objects since ${iso(onset)}.`,
    own.length > 0
      ? `Its own signals: ${[...new Set(own.map((a) => a.reason ?? a.signal))].slice(0, 5).join(', ')}.`
      : 'It has no anomaly itself; it is upstream of the affected objects.',
    changeNote(top.change, onset),
    cpu.note,
    runnersUp.length > 0 ? `Next candidates: ${runnersUp.join(', ')}.` : '',
    loadNote(faultClass, classifyInput, demand, load),
  ]
    .filter(Boolean)
    .join(' ');
  const candidates = ranked.slice(0, 5).map((r, i) => ({
    object: r.object,
    faultClass: i === 0 ? faultClass : 'unknown',
    confidence: Math.max(0, Math.min(1, r.score / (total || 1))),
    score: r.score,
  }));
  return {
    ranked,
    diagnosis: {
      incidentId: input.incidentId,
      diagnosedAt: iso(input.now),
      severity,
      candidates: candidates,
      causalPath: [...steps.values()],
      evidence,
      explanation,
      recommendedActions: actions,
      anomalyIds: [...new Set(anomalies.map((a) => a.anomalyId))],
      ...(input.sequence === undefined ? {} : { sequence: input.sequence }),
    },
  };
}
