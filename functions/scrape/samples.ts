import type { Sample } from '../../shared/contracts/index.js';
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
/** One series from a Prometheus instant query, already named by its Detector. */
export interface PromSeries {
  readonly signal: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly at: string;
}

const iso = (t: string | Date | undefined, fallback: string) =>
  t === undefined ? fallback : new Date(t).toISOString();

/**
 * Turn API and metrics objects into samples: per container memory and CPU (with their limits,
 * which predictive detectors forecast against), per pod restarts and readiness, per node usage
 * against allocatable, and any Prometheus series.
 */
export function buildSamples(input: {
  pods: readonly PodView[];
  podMetrics: readonly PodMetricsView[];
  nodes: readonly NodeView[];
  nodeMetrics: readonly NodeMetricsView[];
  prometheus?: readonly PromSeries[];
  now: string;
}): Sample[] {
  const samples: Sample[] = [];
  const pods = new Map(input.pods.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
  for (const m of input.podMetrics) {
    const pod = pods.get(`${m.metadata.namespace}/${m.metadata.name}`);
    if (!pod) continue; // a pod deleted between the two reads
    const at = iso(m.timestamp, input.now);
    for (const c of m.containers) {
      const spec = pod.spec?.containers?.find((x) => x.name === c.name);
      const entity = {
        kind: 'Pod',
        namespace: m.metadata.namespace,
        name: m.metadata.name,
        ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
        container: c.name,
      };
      const memory = parseQuantity(c.usage.memory);
      const cpu = parseQuantity(c.usage.cpu);
      if (memory !== undefined)
        samples.push(
          withBounds(
            { entity, signal: 'memory_working_set_bytes', value: memory, unit: 'bytes', at },
            spec?.resources,
            'memory',
          ),
        );
      if (cpu !== undefined)
        samples.push(
          withBounds(
            { entity, signal: 'cpu_usage_cores', value: cpu, unit: 'cores', at },
            spec?.resources,
            'cpu',
          ),
        );
    }
  }
  for (const pod of input.pods) {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (!name || !namespace || pod.status?.phase === 'Succeeded') continue;
    const entity = { kind: 'Pod', namespace, name, ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) };
    const restarts = (pod.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);
    const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
      ? 1
      : 0;
    samples.push({ entity, signal: 'restarts_total', value: restarts, unit: 'count', at: input.now });
    samples.push({ entity, signal: 'ready', value: ready, unit: 'bool', at: input.now });
  }
  const nodes = new Map(input.nodes.map((n) => [n.metadata?.name, n]));
  for (const m of input.nodeMetrics) {
    const node = nodes.get(m.metadata.name);
    const entity = {
      kind: 'Node',
      name: m.metadata.name,
      ...(node?.metadata?.uid ? { uid: node.metadata.uid } : {}),
    };
    const at = iso(m.timestamp, input.now);
    const cpu = parseQuantity(m.usage.cpu);
    const memory = parseQuantity(m.usage.memory);
    const cpuLimit = parseQuantity(node?.status?.allocatable?.['cpu']);
    const memLimit = parseQuantity(node?.status?.allocatable?.['memory']);
    if (cpu !== undefined)
      samples.push({
        entity,
        signal: 'node_cpu_usage_cores',
        value: cpu,
        unit: 'cores',
        at,
        ...(cpuLimit ? { limit: cpuLimit } : {}),
      });
    if (memory !== undefined)
      samples.push({
        entity,
        signal: 'node_memory_working_set_bytes',
        value: memory,
        unit: 'bytes',
        at,
        ...(memLimit ? { limit: memLimit } : {}),
      });
  }
  for (const s of input.prometheus ?? []) {
    const entity = entityFromLabels(s.labels);
    if (entity && Number.isFinite(s.value))
      samples.push({ entity, signal: s.signal, value: s.value, at: s.at });
  }
  return samples;
}

function withBounds(
  sample: Sample,
  resources: { limits?: Record<string, string>; requests?: Record<string, string> } | undefined,
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
  if (labels['node']) return { kind: 'Node', name: labels['node'] };
  return undefined;
}
