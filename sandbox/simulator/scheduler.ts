import { parseQuantity } from '../apiserver/quantity.js';
import { matchesLabels, selectorFromObject, type LabelSelectorObject } from '../apiserver/selectors.js';
import type { KubeObject } from '../apiserver/types.js';
import { field, type SimContext } from './state.js';

interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}
type Requests = { cpu: number; memory: number };

/** The taint a cordoned node carries (node.kubernetes.io/unschedulable:NoSchedule). */
const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
type NodeUsage = { cpu: number; memory: number; pods: number };

// A stored pod version is never changed in place (an update stores a new object): memoise by the
// object itself. (By uid and resourceVersion, two simulators of one seed — same uids — shared
// each other's requests.)
const requestsCache = new WeakMap<KubeObject, Requests>();

/** Sum of container requests of a pod (cores, bytes). */
export function podRequests(pod: KubeObject): Requests {
  const cached = requestsCache.get(pod);
  if (cached) return cached;
  const computed = computeRequests(pod);
  requestsCache.set(pod, computed);
  return computed;
}

function computeRequests(pod: KubeObject): Requests {
  let cpu = 0;
  let memory = 0;
  for (const c of field<{ resources?: { requests?: Record<string, string> } }[]>(pod, 'spec.containers') ??
    []) {
    cpu += parseQuantity(c.resources?.requests?.['cpu']) ?? 0;
    memory += parseQuantity(c.resources?.requests?.['memory']) ?? 0;
  }
  return { cpu, memory };
}

export function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

type NodeSelectorRequirement = { key: string; operator: string; values?: string[] };

/**
 * A node selector term: every label expression and every field expression (only `metadata.name`
 * is a field a term may name, as Kubernetes allows) holds.
 */
function nodeMatchesTerm(
  node: KubeObject,
  term: { matchExpressions?: NodeSelectorRequirement[]; matchFields?: NodeSelectorRequirement[] },
): boolean {
  const fields: Record<string, string> = { 'metadata.name': node.metadata.name };
  return (
    requirementsHold(node.metadata.labels ?? {}, term.matchExpressions) &&
    requirementsHold(fields, term.matchFields)
  );
}

function requirementsHold(
  labels: Record<string, string>,
  requirements: readonly NodeSelectorRequirement[] | undefined,
): boolean {
  return (requirements ?? []).every((e) => {
    const v = labels[e.key];
    switch (e.operator) {
      case 'In':
        return v !== undefined && (e.values ?? []).includes(v);
      case 'NotIn':
        return v === undefined || !(e.values ?? []).includes(v);
      case 'Exists':
        return v !== undefined;
      case 'DoesNotExist':
        return v === undefined;
      case 'Gt':
        return v !== undefined && Number(v) > Number(e.values?.[0]);
      case 'Lt':
        return v !== undefined && Number(v) < Number(e.values?.[0]);
      default:
        return false;
    }
  });
}

function isNodeReady(node: KubeObject): boolean {
  return (field<{ type: string; status: string }[]>(node, 'status.conditions') ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );
}

/** Why a node cannot take a pod (the scheduler's filter plugins), or undefined when it fits. */
function unfitReason(
  pod: KubeObject,
  node: KubeObject,
  usage: NodeUsage,
  allPods: KubeObject[],
): string | undefined {
  const tolerations = field<Toleration[]>(pod, 'spec.tolerations') ?? [];
  // A cordoned node takes only pods tolerating its unschedulable taint (DaemonSet pods do).
  if (field<boolean>(node, 'spec.unschedulable') && !tolerates(tolerations, UNSCHEDULABLE_TAINT))
    return 'node(s) were unschedulable';
  const taints = (field<Taint[]>(node, 'spec.taints') ?? []).filter(
    (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
  );
  const untolerated = taints.find((t) => !tolerates(tolerations, t));
  if (untolerated) return `node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`;
  const nodeSelector = field<Record<string, string>>(pod, 'spec.nodeSelector') ?? {};
  const required = field<{
    nodeSelectorTerms?: {
      matchExpressions?: NodeSelectorRequirement[];
      matchFields?: NodeSelectorRequirement[];
    }[];
  }>(pod, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution');
  const labels = node.metadata.labels ?? {};
  if (
    Object.entries(nodeSelector).some(([k, v]) => labels[k] !== v) ||
    (required?.nodeSelectorTerms && !required.nodeSelectorTerms.some((t) => nodeMatchesTerm(node, t)))
  ) {
    return "node(s) didn't match Pod's node affinity/selector";
  }
  const podAffinity =
    field<{ labelSelector?: LabelSelectorObject; topologyKey?: string }[]>(
      pod,
      'spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution',
    ) ?? [];
  for (const term of podAffinity) {
    const sel = selectorFromObject(term.labelSelector);
    const key = term.topologyKey ?? 'kubernetes.io/hostname';
    const domain = labels[key];
    const ok = allPods.some(
      (p) => p !== pod && matchesLabels(sel, p.metadata.labels) && domainOf(p, key, allNodesCache) === domain,
    );
    if (!ok) return "node(s) didn't match pod affinity rules";
  }
  const alloc = {
    cpu: parseQuantity(field(node, 'status.allocatable.cpu')) ?? 0,
    memory: parseQuantity(field(node, 'status.allocatable.memory')) ?? 0,
    pods: parseQuantity(field(node, 'status.allocatable.pods')) ?? 110,
  };
  const need = podRequests(pod);
  if (usage.cpu + need.cpu > alloc.cpu + 1e-9) return 'Insufficient cpu';
  if (usage.memory + need.memory > alloc.memory) return 'Insufficient memory';
  if (usage.pods + 1 > alloc.pods) return 'Too many pods';
  return undefined;
}

let allNodesCache = new Map<string, KubeObject>();
function domainOf(pod: KubeObject, key: string, nodes: Map<string, KubeObject>): string | undefined {
  const nodeName = field<string>(pod, 'spec.nodeName');
  return nodeName ? nodes.get(nodeName)?.metadata.labels?.[key] : undefined;
}

/** Whether a node would take a pod, ignoring capacity (DaemonSet placement: taints and node affinity). */
export function nodeAcceptsDaemonPod(pod: KubeObject, node: KubeObject): boolean {
  const reason = unfitReason(pod, node, { cpu: 0, memory: 0, pods: 0 }, []);
  return reason === undefined || reason.startsWith('Insufficient') || reason === 'Too many pods';
}

/** Scheduler: bind each pending pod to the least-allocated node that passes every filter. */
export function schedulePods(ctx: SimContext): void {
  const c = ctx.cluster;
  const podType = c.kind('v1', 'Pod');
  const nodes = c.store.scan('/nodes').filter(isNodeReady);
  const allNodes = c.store.scan('/nodes');
  allNodesCache = new Map(allNodes.map((n) => [n.metadata.name, n]));
  const pods = c.store.scan('/pods');
  // Requests already placed on each node, kept current as pods are bound below.
  const byNode = new Map<string, NodeUsage>();
  const pending: KubeObject[] = [];
  for (const p of pods) {
    const n = field<string>(p, 'spec.nodeName');
    if (!n) {
      if (!p.metadata.deletionTimestamp) pending.push(p);
      continue;
    }
    if (['Succeeded', 'Failed'].includes(field<string>(p, 'status.phase') ?? '')) continue;
    const u = byNode.get(n) ?? { cpu: 0, memory: 0, pods: 0 };
    const r = podRequests(p);
    byNode.set(n, { cpu: u.cpu + r.cpu, memory: u.memory + r.memory, pods: u.pods + 1 });
  }
  if (pending.length === 0) return;
  pending.sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
  for (const pod of pending) {
    const reasons = new Map<string, number>();
    let best: { node: KubeObject; score: number } | undefined;
    for (const node of nodes) {
      const onNode = byNode.get(node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
      const reason = unfitReason(pod, node, onNode, pods);
      if (reason) {
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        continue;
      }
      const alloc = parseQuantity(field(node, 'status.allocatable.cpu')) ?? 1;
      const score = 1 - onNode.cpu / alloc;
      if (!best || score > best.score + 1e-12) best = { node, score };
    }
    const notReady = allNodes.length - nodes.length;
    if (notReady > 0)
      reasons.set('node(s) had untolerated taint {node.kubernetes.io/unreachable: }', notReady);
    if (!best) {
      const detail = [...reasons]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([r, n]) => `${n} ${r}`)
        .join(', ');
      const message = `0/${allNodes.length} nodes are available: ${detail}. preemption: 0/${allNodes.length} nodes are available: ${allNodes.length} Preemption is not helpful for scheduling.`;
      ctx.events.record(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      const fresh = c.store.peek('/pods', pod.metadata.namespace, pod.metadata.name);
      const conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }];
      if (fresh && JSON.stringify(field(fresh, 'status.conditions')) !== JSON.stringify(conditions)) {
        c.update(
          podType,
          {
            ...structuredClone(fresh),
            status: { ...(fresh['status'] as object), phase: 'Pending', conditions },
          },
          { subresource: 'status' },
        );
      }
      continue;
    }
    const fresh = c.store.peek('/pods', pod.metadata.namespace, pod.metadata.name);
    if (!fresh) continue;
    const bound = c.update(podType, {
      ...structuredClone(fresh),
      spec: { ...(fresh['spec'] as object), nodeName: best.node.metadata.name },
    });
    const placed = byNode.get(best.node.metadata.name) ?? { cpu: 0, memory: 0, pods: 0 };
    const r = podRequests(bound);
    byNode.set(best.node.metadata.name, {
      cpu: placed.cpu + r.cpu,
      memory: placed.memory + r.memory,
      pods: placed.pods + 1,
    });
    ctx.events.record(
      bound,
      'Normal',
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${best.node.metadata.name}`,
      'default-scheduler',
    );
  }
}
