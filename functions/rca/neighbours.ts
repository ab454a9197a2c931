// A noisy neighbour seen from its node: a pod without a CPU limit taking most of a node's CPU while
// the workloads of the incident, with pods on that node, are slow or failing, or while the node is
// predicted to run out of CPU. The usual evidence is the neighbour's own CPU deviation; this reads
// the cluster's current usage instead, for a neighbour whose CPU has no baseline yet to deviate
// from (it began soon after kurative started watching, or its pod is new).
import type { AnomalyData } from '../../shared/contracts/index.js';
import { NEAR_LIMIT, parseQuantity } from '../../shared/quantity/index.js';
import type { RankedCause } from './rank.js';
import {
  cpuLimitedContainers,
  keyOf,
  workloadOf,
  type ClusterSnapshot,
  type PodSpecView,
  type Topology,
} from './topology.js';

/** A pod taking at least this share of a saturated node's allocatable CPU starves the others. */
export const NEIGHBOUR_SHARE = 0.5;

export interface StarvingNeighbour {
  /** The neighbour's workload (or the pod itself when nothing owns it). */
  readonly key: string;
  readonly pod: string;
  readonly node: string;
  /** "3.9 of node-1's 4 allocatable cores". */
  readonly usage: string;
  /** What it does to its node: "starving the pods it shares the node with". */
  readonly effect: string;
}

/** CPU cores per pod, by "namespace/name". */
function podCores(snapshot: ClusterSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of snapshot.podMetrics ?? []) {
    const cores = (m.containers ?? []).reduce((s, c) => s + (parseQuantity(c.usage?.cpu) ?? 0), 0);
    out.set(`${m.metadata?.namespace ?? ''}/${m.metadata?.name ?? ''}`, cores);
  }
  return out;
}

/** Whether the incident has a pod's CPU deviation: then CPU baselines exist and tell the story. */
const cpuDeviates = (anomalies: readonly AnomalyData[]) =>
  anomalies.some((a) => a.kind === 'deviation' && a.signal === 'cpu_usage_cores');

/** The nodes the incident predicts to run out of CPU. */
const runningOutOfCpu = (anomalies: readonly AnomalyData[]) =>
  new Set(
    anomalies
      .filter((a) => a.kind === 'forecast' && a.signal === 'node_cpu_usage_cores' && a.entity.kind === 'Node')
      .map((a) => a.entity.name),
  );

interface NodePods {
  used: number;
  readonly pods: { key: string; name: string; cores: number; limited: boolean }[];
}

/** Each node's pods with their CPU use (pods without usage figures left out), and the sum. */
function podsByNode(snapshot: ClusterSnapshot, topology: Topology): Map<string, NodePods> {
  const cores = podCores(snapshot);
  const byNode = new Map<string, NodePods>();
  for (const p of snapshot.pods) {
    const spec = p.spec as PodSpecView | undefined;
    const { name = '', namespace = '' } = p.metadata ?? {};
    const used = cores.get(`${namespace}/${name}`);
    if (!spec?.nodeName || used === undefined) continue;
    const node = byNode.get(spec.nodeName) ?? { used: 0, pods: [] };
    node.used += used;
    const podKey = keyOf({ kind: 'Pod', namespace, name });
    node.pods.push({
      key: workloadOf(topology, podKey) ?? podKey,
      name,
      cores: used,
      limited: cpuLimitedContainers(spec),
    });
    byNode.set(spec.nodeName, node);
  }
  return byNode;
}

/**
 * The pod without a CPU limit that takes most of a node's CPU, when the incident has no CPU deviation
 * of its own and its top cause is no rollout, and either
 * - the node is saturated and hosts pods of the incident's other workloads (`implicated`): the
 *   neighbour takes at least half its allocatable CPU; or
 * - the incident predicts the node to run out of CPU: the neighbour takes at least half of what the
 *   node's pods use. Pods with a limit can grow only to it; the one without drives the node.
 * Undefined otherwise.
 */
export function starvingNeighbour(
  snapshot: ClusterSnapshot,
  topology: Topology,
  anomalies: readonly AnomalyData[],
  implicated: ReadonlySet<string>,
  top: RankedCause | undefined,
): StarvingNeighbour | undefined {
  if (!snapshot.podMetrics || top?.change?.kind === 'rollout' || cpuDeviates(anomalies)) return undefined;
  const byNode = podsByNode(snapshot, topology);
  const predicted = runningOutOfCpu(anomalies);
  for (const n of snapshot.nodes) {
    const name = n.metadata?.name ?? '';
    const allocatable = (n.status as { allocatable?: Record<string, string> } | undefined)?.allocatable?.[
      'cpu'
    ];
    const capacity = parseQuantity(allocatable) ?? 0;
    const node = byNode.get(name);
    if (!node || capacity <= 0) continue;
    const hog = node.pods.filter((p) => !p.limited).sort((a, b) => b.cores - a.cores)[0];
    if (!hog) continue;
    const usage = `${hog.cores.toPrecision(2)} of ${name}'s ${allocatable ?? ''} allocatable cores`;
    // A neighbour of the incident: another implicated workload has a pod on this node, saturated
    // (its pods use NEAR_LIMIT of its allocatable CPU).
    const starves =
      node.used >= NEAR_LIMIT * capacity &&
      hog.cores >= NEIGHBOUR_SHARE * capacity &&
      node.pods.some((p) => p.key !== hog.key && implicated.has(p.key));
    if (starves)
      return {
        key: hog.key,
        pod: hog.name,
        node: name,
        usage,
        effect: 'starving the pods it shares the node with',
      };
    if (predicted.has(name) && hog.cores >= NEIGHBOUR_SHARE * node.used)
      return { key: hog.key, pod: hog.name, node: name, usage, effect: `driving ${name} to run out of CPU` };
  }
  return undefined;
}

/** The ranking with the starving neighbour, when there is one, put first. */
export function promoteNeighbour(
  ranked: readonly RankedCause[],
  neighbour: StarvingNeighbour | undefined,
  topology: Topology,
): RankedCause[] {
  const top = ranked[0];
  if (!neighbour || !top || top.key === neighbour.key) return [...ranked];
  const existing = ranked.find((r) => r.key === neighbour.key);
  const object = topology.nodes.get(neighbour.key);
  if (!object) return [...ranked];
  const promoted: RankedCause = {
    key: neighbour.key,
    object,
    score: top.score * 1.01,
    walk: existing?.walk ?? 0,
    self: existing?.self ?? 0,
    change: existing?.change,
  };
  return [promoted, ...ranked.filter((r) => r.key !== neighbour.key)];
}
