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

/** Sum of container requests of a pod (cores, bytes). */
export function podRequests(pod: KubeObject): Requests {
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

function nodeMatchesTerm(
  node: KubeObject,
  term: { matchExpressions?: { key: string; operator: string; values?: string[] }[] },
): boolean {
  const labels = node.metadata.labels ?? {};
  return (term.matchExpressions ?? []).every((e) => {
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
  podsOnNode: KubeObject[],
  allPods: KubeObject[],
): string | undefined {
  if (field<boolean>(node, 'spec.unschedulable')) return 'node(s) were unschedulable';
  const tolerations = field<Toleration[]>(pod, 'spec.tolerations') ?? [];
  const taints = (field<Taint[]>(node, 'spec.taints') ?? []).filter(
    (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
  );
  const untolerated = taints.find((t) => !tolerates(tolerations, t));
  if (untolerated) return `node(s) had untolerated taint {${untolerated.key}: ${untolerated.value ?? ''}}`;
  const nodeSelector = field<Record<string, string>>(pod, 'spec.nodeSelector') ?? {};
  const required = field<{
    nodeSelectorTerms?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] }[];
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
  const used = podsOnNode.reduce(
    (s, p) => {
      const r = podRequests(p);
      return { cpu: s.cpu + r.cpu, memory: s.memory + r.memory };
    },
    { cpu: 0, memory: 0 },
  );
  const need = podRequests(pod);
  if (used.cpu + need.cpu > alloc.cpu + 1e-9) return 'Insufficient cpu';
  if (used.memory + need.memory > alloc.memory) return 'Insufficient memory';
  if (podsOnNode.length + 1 > alloc.pods) return 'Too many pods';
  return undefined;
}

let allNodesCache = new Map<string, KubeObject>();
function domainOf(pod: KubeObject, key: string, nodes: Map<string, KubeObject>): string | undefined {
  const nodeName = field<string>(pod, 'spec.nodeName');
  return nodeName ? nodes.get(nodeName)?.metadata.labels?.[key] : undefined;
}

/** Whether a node would take a pod, ignoring capacity (DaemonSet placement: taints and node affinity). */
export function nodeAcceptsDaemonPod(pod: KubeObject, node: KubeObject): boolean {
  const reason = unfitReason(pod, node, [], []);
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
  const byNode = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const n = field<string>(p, 'spec.nodeName');
    if (!n || ['Succeeded', 'Failed'].includes(field<string>(p, 'status.phase') ?? '')) continue;
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const pending = pods
    .filter((p) => !field<string>(p, 'spec.nodeName') && !p.metadata.deletionTimestamp)
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
  for (const pod of pending) {
    const reasons = new Map<string, number>();
    let best: { node: KubeObject; score: number } | undefined;
    for (const node of nodes) {
      const onNode = byNode.get(node.metadata.name) ?? [];
      const reason = unfitReason(pod, node, onNode, pods);
      if (reason) {
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
        continue;
      }
      const alloc = parseQuantity(field(node, 'status.allocatable.cpu')) ?? 1;
      const used = onNode.reduce((s, p) => s + podRequests(p).cpu, 0);
      const score = 1 - used / alloc;
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
    byNode.set(best.node.metadata.name, [...(byNode.get(best.node.metadata.name) ?? []), bound]);
    ctx.events.record(
      bound,
      'Normal',
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${best.node.metadata.name}`,
      'default-scheduler',
    );
  }
}
