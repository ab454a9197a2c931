import type { Sample } from '../../shared/contracts/index.js';
import { podReady } from '../../shared/kube/workloads.js';
import { parseQuantity } from '../../shared/quantity/index.js';

/** The parts of API objects that scrape reads (client-node models are structurally compatible). */
export interface PodView {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string> };
  spec?: {
    nodeName?: string;
    containers?: {
      name: string;
      resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
    }[];
  };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; restartCount?: number }[];
  };
}
export interface PodMetricsView {
  metadata: { name: string; namespace?: string };
  timestamp?: string | Date;
  containers: { name: string; usage: { cpu: string; memory: string } }[];
}
export interface NodeView {
  metadata?: { name?: string; uid?: string };
  status?: { allocatable?: Record<string, string> };
}
export interface NodeMetricsView {
  metadata: { name: string };
  timestamp?: string | Date;
  usage: { cpu: string; memory: string };
}
/**
 * The parts of a pod that scrape reads, copied out of the API's model: the model (managed fields,
 * probes, volumes, env, statuses' times) is left to the garbage collector with its page.
 */
export function podView(pod: PodView): PodView {
  const { metadata, spec, status } = pod;
  return {
    metadata: {
      ...(metadata?.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata?.namespace !== undefined ? { namespace: metadata.namespace } : {}),
      ...(metadata?.uid !== undefined ? { uid: metadata.uid } : {}),
      ...(metadata?.labels !== undefined ? { labels: metadata.labels } : {}),
    },
    spec: {
      ...(spec?.nodeName !== undefined ? { nodeName: spec.nodeName } : {}),
      containers: (spec?.containers ?? []).map((c) => ({
        name: c.name,
        ...(c.resources
          ? {
              resources: {
                ...(c.resources.limits ? { limits: c.resources.limits } : {}),
                ...(c.resources.requests ? { requests: c.resources.requests } : {}),
              },
            }
          : {}),
      })),
    },
    status: {
      ...(status?.phase !== undefined ? { phase: status.phase } : {}),
      conditions: (status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status })),
      containerStatuses: (status?.containerStatuses ?? []).map((c) => ({
        name: c.name,
        ...(c.restartCount !== undefined ? { restartCount: c.restartCount } : {}),
      })),
    },
  };
}

/** The parts of a node that scrape reads (a node's model carries its image list, often kilobytes). */
export function nodeView(node: NodeView): NodeView {
  const { metadata, status } = node;
  return {
    metadata: {
      ...(metadata?.name !== undefined ? { name: metadata.name } : {}),
      ...(metadata?.uid !== undefined ? { uid: metadata.uid } : {}),
    },
    ...(status?.allocatable ? { status: { allocatable: status.allocatable } } : {}),
  };
}

/** One series from a Prometheus instant query, already named by its Detector. */
export interface PromSeries {
  readonly signal: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly at: string;
  /** From the Detector's limit query, matched by the object the series names. */
  readonly limit?: number;
}

const iso = (t: string | Date | undefined, fallback: string) =>
  t === undefined ? fallback : new Date(t).toISOString();

/**
 * Turn API and metrics objects into samples: per container memory and CPU (with their limits,
 * which predictive detectors forecast against, and requests), per pod restarts and readiness, per
 * node usage against allocatable (with what its pods request), and any Prometheus series.
 */
export function buildSamples(input: {
  pods: readonly PodView[];
  podMetrics: readonly PodMetricsView[];
  nodes: readonly NodeView[];
  nodeMetrics: readonly NodeMetricsView[];
  prometheus?: readonly PromSeries[];
  now: string;
}): Sample[] {
  return [
    ...containerUsage(input.pods, input.podMetrics, input.now),
    ...input.pods.flatMap((p) => podState(p, input.now)),
    ...nodeUsage(input.nodes, input.nodeMetrics, requestedByNode(input.pods), input.now),
    ...(input.prometheus ?? []).flatMap((s) => seriesSamples(s.signal, s.labels, [s], s.limit)),
  ];
}

/**
 * One Prometheus series' points as samples of the object its labels name (none when they name no
 * object; non-finite values are left out), each with the series' limit when it has one.
 */
export function seriesSamples(
  signal: string,
  labels: Readonly<Record<string, string>>,
  points: readonly { readonly value: number; readonly at: string }[],
  limit?: number,
): Sample[] {
  const entity = entityFromLabels(labels);
  if (!entity) return [];
  const bound = limit ? { limit } : {};
  return points.flatMap((p) =>
    Number.isFinite(p.value) ? [{ entity, signal, value: p.value, at: p.at, ...bound }] : [],
  );
}

function containerUsage(
  pods: readonly PodView[],
  podMetrics: readonly PodMetricsView[],
  now: string,
): Sample[] {
  const byKey = new Map(pods.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  const samples: Sample[] = [];
  for (const m of podMetrics) {
    const pod = byKey.get(`${m.metadata.namespace}/${m.metadata.name}`);
    if (!pod) continue; // a pod deleted between the two reads
    const at = iso(m.timestamp, now);
    const uid = pod.metadata?.uid;
    const labels = pod.metadata?.labels ?? {};
    const extra = Object.keys(labels).length > 0 ? { labels } : {};
    for (const c of m.containers) {
      const resources = pod.spec?.containers?.find((x) => x.name === c.name)?.resources;
      const entity = {
        kind: 'Pod',
        namespace: m.metadata.namespace,
        name: m.metadata.name,
        ...(uid ? { uid } : {}),
        container: c.name,
      };
      const memory = parseQuantity(c.usage.memory);
      const cpu = parseQuantity(c.usage.cpu);
      if (memory !== undefined)
        samples.push(
          withBounds(
            { entity, signal: 'memory_working_set_bytes', value: memory, unit: 'bytes', at, ...extra },
            resources,
            'memory',
          ),
        );
      if (cpu !== undefined)
        samples.push(
          withBounds(
            { entity, signal: 'cpu_usage_cores', value: cpu, unit: 'cores', at, ...extra },
            resources,
            'cpu',
          ),
        );
    }
  }
  return samples;
}

function podState(pod: PodView, now: string): Sample[] {
  const name = pod.metadata?.name;
  const namespace = pod.metadata?.namespace;
  if (!name || !namespace || pod.status?.phase === 'Succeeded') return [];
  const uid = pod.metadata?.uid;
  const entity = { kind: 'Pod', namespace, name, ...(uid ? { uid } : {}) };
  const restarts = (pod.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);
  const ready = podReady(pod) ? 1 : 0;
  return [
    { entity, signal: 'restarts_total', value: restarts, unit: 'count', at: now },
    { entity, signal: 'ready', value: ready, unit: 'bool', at: now },
  ];
}

/**
 * What the pods bound to each node request, summed per resource (as `kubectl describe node` shows
 * under "Allocated resources"): pods that have finished hold nothing.
 */
function requestedByNode(pods: readonly PodView[]): Map<string, Record<string, number>> {
  const totals = new Map<string, Record<string, number> & { cpu: number; memory: number }>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    const phase = pod.status?.phase;
    if (!node || phase === 'Succeeded' || phase === 'Failed') continue;
    let total = totals.get(node);
    if (!total) totals.set(node, (total = { cpu: 0, memory: 0 }));
    for (const c of pod.spec?.containers ?? []) {
      total.cpu += parseQuantity(c.resources?.requests?.['cpu']) ?? 0;
      total.memory += parseQuantity(c.resources?.requests?.['memory']) ?? 0;
    }
  }
  return totals;
}

function nodeUsage(
  nodes: readonly NodeView[],
  nodeMetrics: readonly NodeMetricsView[],
  requested: ReadonlyMap<string, Record<string, number>>,
  now: string,
): Sample[] {
  const byName = new Map(nodes.map((n) => [n.metadata?.name, n]));
  const samples: Sample[] = [];
  for (const m of nodeMetrics) {
    const node = byName.get(m.metadata.name);
    const uid = node?.metadata?.uid;
    const entity = { kind: 'Node', name: m.metadata.name, ...(uid ? { uid } : {}) };
    const at = iso(m.timestamp, now);
    const allocatable = node?.status?.allocatable;
    // A node without pods has nothing reserved on it: all its usage is beyond its requests.
    const bounds = {
      limits: allocatable ?? {},
      requests: requested.get(m.metadata.name) ?? { cpu: 0, memory: 0 },
    };
    const cpu = parseQuantity(m.usage.cpu);
    const memory = parseQuantity(m.usage.memory);
    if (cpu !== undefined)
      samples.push(
        withBounds({ entity, signal: 'node_cpu_usage_cores', value: cpu, unit: 'cores', at }, bounds, 'cpu'),
      );
    if (memory !== undefined)
      samples.push(
        withBounds(
          { entity, signal: 'node_memory_working_set_bytes', value: memory, unit: 'bytes', at },
          bounds,
          'memory',
        ),
      );
  }
  return samples;
}

function withBounds(
  sample: Sample,
  resources:
    | { limits?: Readonly<Record<string, string>>; requests?: Readonly<Record<string, string | number>> }
    | undefined,
  resource: string,
): Sample {
  const limit = parseQuantity(resources?.limits?.[resource]);
  const request = parseQuantity(resources?.requests?.[resource]);
  return {
    ...sample,
    ...(limit && limit > 0 ? { limit } : {}),
    ...(request !== undefined && request >= 0 ? { request } : {}),
  };
}

/** Map Prometheus labels to the object they describe (kube-state-metrics / cAdvisor conventions). */
export function entityFromLabels(labels: Readonly<Record<string, string>>): Sample['entity'] | undefined {
  const namespace = labels['namespace'];
  const container = labels['container'];
  if (labels['pod'] && namespace)
    return { kind: 'Pod', namespace, name: labels['pod'], ...(container ? { container } : {}) };
  if (labels['deployment'] && namespace)
    return { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: labels['deployment'] };
  if (labels['service'] && namespace) return { kind: 'Service', namespace, name: labels['service'] };
  // Before the node: the kubelet's volume statistics carry the node that mounts the claim too.
  if (labels['persistentvolumeclaim'] && namespace)
    return { kind: 'PersistentVolumeClaim', namespace, name: labels['persistentvolumeclaim'] };
  if (labels['node']) return { kind: 'Node', name: labels['node'] };
  return undefined;
}
