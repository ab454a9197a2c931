import { parseQuantity, formatCpu, formatMemory } from '../apiserver/quantity.js';
import { asText, type KubeObject } from '../apiserver/types.js';
import { evictPod } from './kubelet.js';
import { podRequests, tolerates } from './scheduler.js';
import { field, type NodeRuntime, type PodRuntime, type SimContext } from './state.js';

/** Seconds without heartbeats before the node controller marks a node NotReady (node-monitor-grace-period). */
const GRACE_MS = 40_000;
/** Default tolerationSeconds for node.kubernetes.io/unreachable and not-ready (DefaultTolerationSeconds admission). */
const EVICTION_MS = 300_000;
const HEARTBEAT_WRITE_MS = 60_000;

const UNREACHABLE = [
  { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
];

function readyCondition(up: boolean, since: string, heartbeat: string): Record<string, unknown> {
  return up
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
        lastHeartbeatTime: heartbeat,
        lastTransitionTime: since,
      }
    : {
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastHeartbeatTime: heartbeat,
        lastTransitionTime: since,
      };
}

type Conditions = Record<string, unknown>[];
type Taint = { key: string; effect: string; timeAdded?: string };
const isUnreachable = (t: Taint) => t.key === 'node.kubernetes.io/unreachable';
const isoOf = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function writeNode(
  ctx: SimContext,
  node: KubeObject,
  taints: Taint[] | undefined,
  conditions: Conditions,
): void {
  const c = ctx.cluster;
  const nodeType = c.kind('v1', 'Node');
  let fresh = structuredClone(node);
  if (taints) fresh = c.update(nodeType, { ...fresh, spec: { ...(fresh['spec'] as object), taints } });
  c.update(
    nodeType,
    { ...fresh, status: { ...(fresh['status'] as object), conditions } },
    { subresource: 'status' },
  );
}

const podsOn = (ctx: SimContext, nodeName: string) =>
  ctx.cluster.store.scan('/pods').filter((p) => field<string>(p, 'spec.nodeName') === nodeName);

/** A live kubelet posts status (heartbeat) every minute, and at once when it comes back. */
function heartbeat(
  ctx: SimContext,
  node: KubeObject,
  rt: NodeRuntime,
  conditions: Conditions,
  taints: Taint[],
): void {
  const now = ctx.clock.epochMs;
  const ready = conditions.find((x) => x['type'] === 'Ready');
  const wasNotReady = ready?.['status'] !== 'True';
  if (!wasNotReady && now - rt.lastHeartbeatWrite < HEARTBEAT_WRITE_MS) return;
  rt.lastHeartbeatWrite = now;
  const iso = isoOf(now);
  const since = wasNotReady ? iso : asText(ready?.['lastTransitionTime'], iso);
  const next = conditions.filter((x) => x['type'] !== 'Ready').concat(readyCondition(true, since, iso));
  writeNode(
    ctx,
    node,
    wasNotReady && taints.some(isUnreachable) ? taints.filter((t) => !isUnreachable(t)) : undefined,
    next,
  );
  if (!wasNotReady) return;
  rt.notReadySince = undefined;
  ctx.events.record(
    node,
    'Normal',
    'NodeReady',
    `Node ${node.metadata.name} status is now: NodeReady`,
    'kubelet',
    node.metadata.name,
  );
  // The kubelet re-posts every pod's status when it is back.
  for (const p of ctx.pods.values()) if (p.node === node.metadata.name) p.lastStatusJson = '';
}

/** No heartbeat for the grace period: NotReady, unreachable taints, and the node's pods turn unready. */
function markNotReady(
  ctx: SimContext,
  node: KubeObject,
  rt: NodeRuntime,
  conditions: Conditions,
  taints: Taint[],
): void {
  const now = ctx.clock.epochMs;
  rt.notReadySince = now;
  const iso = isoOf(now);
  const ready = conditions.find((x) => x['type'] === 'Ready');
  const next = conditions
    .filter((x) => x['type'] !== 'Ready')
    .concat(readyCondition(false, iso, asText(ready?.['lastHeartbeatTime'], iso)));
  writeNode(
    ctx,
    node,
    [...taints.filter((t) => !isUnreachable(t)), ...UNREACHABLE.map((t) => ({ ...t, timeAdded: iso }))],
    next,
  );
  ctx.events.record(
    node,
    'Normal',
    'NodeNotReady',
    `Node ${node.metadata.name} status is now: NodeNotReady`,
    'node-controller',
  );
  const podType = ctx.cluster.kind('v1', 'Pod');
  for (const pod of podsOn(ctx, node.metadata.name)) {
    const status = structuredClone((pod['status'] ?? {}) as Record<string, unknown>);
    status['conditions'] = ((status['conditions'] as { type: string }[] | undefined) ?? []).map((x) =>
      x.type === 'Ready' || x.type === 'ContainersReady'
        ? { ...x, status: 'False', reason: 'NodeNotReady' }
        : x,
    );
    ctx.cluster.update(podType, { ...structuredClone(pod), status }, { subresource: 'status' });
    ctx.events.record(pod, 'Warning', 'NodeNotReady', 'Node is not ready', 'node-controller');
  }
}

/** Taint-based eviction: pods that do not tolerate `unreachable:NoExecute` long enough are deleted. */
function evictFromUnreachable(ctx: SimContext, node: KubeObject, notReadySince: number): void {
  const podType = ctx.cluster.kind('v1', 'Pod');
  const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
  for (const pod of podsOn(ctx, node.metadata.name)) {
    const tolerations =
      field<{ key?: string; operator?: string; effect?: string; tolerationSeconds?: number }[]>(
        pod,
        'spec.tolerations',
      ) ?? [];
    const explicit = tolerations.find((t) => tolerates([t], unreachable));
    if (explicit && explicit.tolerationSeconds === undefined) continue;
    const waitMs = (explicit?.tolerationSeconds ?? EVICTION_MS / 1000) * 1000;
    if (ctx.clock.epochMs - notReadySince < waitMs) continue;
    ctx.events.record(
      pod,
      'Normal',
      'TaintManagerEviction',
      `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      'taint-eviction-controller',
    );
    ctx.cluster.delete(podType, pod.metadata.namespace, pod.metadata.name);
    ctx.counters.evictions++;
  }
}

/** Node lifecycle: heartbeats, NotReady after the grace period, unreachable taints, taint-based eviction. */
export function runNodeLifecycle(ctx: SimContext): void {
  const now = ctx.clock.epochMs;
  for (const node of ctx.cluster.store.scan('/nodes')) {
    const rt = ctx.nodes.get(node.metadata.name);
    if (!rt) continue;
    const conditions = field<Conditions>(node, 'status.conditions') ?? [];
    const taints = field<Taint[]>(node, 'spec.taints') ?? [];
    if (rt.up) {
      heartbeat(ctx, node, rt, conditions, taints);
      continue;
    }
    rt.downSince ??= now;
    if (rt.notReadySince === undefined && now - rt.downSince >= GRACE_MS)
      markNotReady(ctx, node, rt, conditions, taints);
    if (rt.notReadySince !== undefined) evictFromUnreachable(ctx, node, rt.notReadySince);
  }
}

/**
 * What each claimant gets of `capacity` when together they want more: a share proportional to its
 * weight, and what a claimant wanting less than its share leaves is shared among the rest again
 * (CFS is work-conserving: an overcommitted node's CPU is all used, none held back).
 */
export function fairShares(wants: readonly number[], weights: readonly number[], capacity: number): number[] {
  const gets = wants.map(() => 0);
  let active = wants.map((_, i) => i).filter((i) => (wants[i] ?? 0) > 0);
  let left = capacity;
  while (active.length > 0 && left > 1e-12) {
    const weight = active.reduce((s, i) => s + (weights[i] ?? 0), 0);
    // Without weights (no requests at all) the claimants share alike.
    const shareOf = (i: number) => (weight > 0 ? (left * (weights[i] ?? 0)) / weight : left / active.length);
    const satisfied = active.filter((i) => (wants[i] ?? 0) - (gets[i] ?? 0) <= shareOf(i));
    if (satisfied.length === 0) {
      for (const i of active) gets[i] = (gets[i] ?? 0) + shareOf(i);
      break;
    }
    for (const i of satisfied) {
      left -= (wants[i] ?? 0) - (gets[i] ?? 0);
      gets[i] = wants[i] ?? 0;
    }
    active = active.filter((i) => !satisfied.includes(i));
  }
  return gets;
}

/**
 * CPU contention: on each node, pods whose demand exceeds their limit are throttled, and when the
 * node is overcommitted the CPU is shared in proportion to the pods' requests (CFS shares, the
 * unused part of a share going to the others). Sets every pod's saturation (demand / CPU it can
 * get) and the node's usage.
 */
export function applyCpuContention(ctx: SimContext): void {
  const podsByNode = new Map<string, { pod: KubeObject; demand: number; limit: number; request: number }[]>();
  for (const pod of ctx.cluster.store.scan('/pods')) {
    const rt = ctx.pods.get(pod.metadata.uid ?? '');
    // An evicted pod's processes are gone: it uses nothing on its node any more.
    if (!rt?.node || rt.evicted) continue;
    const demand = rt.containers.reduce((s, c) => s + (c.phase === 'running' ? c.cpu : 0), 0);
    const limits = (
      field<{ resources?: { limits?: Record<string, string> } }[]>(pod, 'spec.containers') ?? []
    ).map((c) => parseQuantity(c.resources?.limits?.['cpu']) ?? Infinity);
    const limit = limits.reduce((s, l) => s + l, 0);
    const list = podsByNode.get(rt.node) ?? [];
    list.push({ pod, demand, limit, request: Math.max(0.01, podRequests(pod).cpu) });
    podsByNode.set(rt.node, list);
  }
  // A node left without pods uses nothing (it is not in podsByNode).
  for (const n of ctx.nodes.values()) {
    n.cpuUsed = 0;
    n.memoryUsed = 0;
  }
  for (const [nodeName, list] of podsByNode) {
    const node = ctx.cluster.store.peek('/nodes', undefined, nodeName);
    const capacity = parseQuantity(field(node, 'status.allocatable.cpu')) ?? 1;
    const wanted = list.reduce((s, p) => s + Math.min(p.demand, p.limit), 0);
    const totalRequest = list.reduce((s, p) => s + p.request, 0);
    // Past ~90 % node CPU, co-located pods also slow each other through shared caches and memory
    // bandwidth, not only through CFS shares: the noisy-neighbour effect.
    const pressure = Math.max(0, wanted / capacity - 0.9) * 1.5;
    const contended = wanted > capacity;
    // Past full, runnable threads wait for a CPU whatever their share: every pod's requests queue.
    const queueing = Math.min(0.9, Math.max(0, wanted / capacity - 1) * 2);
    const allotted = contended
      ? fairShares(
          list.map((p) => Math.min(p.demand, p.limit)),
          list.map((p) => p.request),
          capacity,
        )
      : undefined;
    let used = 0;
    let memory = 0;
    list.forEach((p, k) => {
      const rt = ctx.pods.get(p.pod.metadata.uid ?? '');
      if (!rt) return;
      const gets = allotted ? (allotted[k] ?? 0) : Math.min(p.demand, p.limit);
      // What the pod could use: its limit, or under contention its request's share or more if the
      // others leave it more.
      const share = contended ? Math.max(capacity * (p.request / totalRequest), gets) : Infinity;
      const running = rt.containers.filter((c) => c.phase === 'running');
      const scale = p.demand > 0 ? gets / p.demand : 1;
      for (const c of running) c.cpu *= scale;
      const available = Math.min(p.limit, share, capacity);
      rt.saturation = (available > 0 ? p.demand / available : 0) + (p.demand > 0 ? pressure : 0);
      rt.queueing = queueing;
      used += gets;
      memory += rt.containers.reduce((s, c) => s + c.memory, 0);
    });
    const nrt = ctx.nodes.get(nodeName);
    if (nrt) {
      nrt.cpuUsed = used;
      nrt.memoryUsed = memory;
    }
  }
}

/** The kubelet's hard eviction threshold for memory (its default, memory.available<100Mi). */
const MEMORY_EVICTION_THRESHOLD = 100 * 2 ** 20;
/** How long memory must stay above the threshold before the condition clears (eviction-pressure-transition-period). */
const PRESSURE_TRANSITION_MS = 300_000;
/** The kubelet's eviction manager looks every 10 s and evicts one pod a round. */
const EVICTION_INTERVAL_MS = 10_000;
const MEMORY_PRESSURE_TAINT = { key: 'node.kubernetes.io/memory-pressure', effect: 'NoSchedule' };
const isMemoryPressureTaint = (t: Taint) => t.key === MEMORY_PRESSURE_TAINT.key;

function memoryPressureCondition(pressure: boolean, since: number): Record<string, unknown> {
  return pressure
    ? {
        type: 'MemoryPressure',
        status: 'True',
        reason: 'KubeletHasInsufficientMemory',
        message: 'kubelet has insufficient memory available',
        lastTransitionTime: isoOf(since),
      }
    : {
        type: 'MemoryPressure',
        status: 'False',
        reason: 'KubeletHasSufficientMemory',
        message: 'kubelet has sufficient memory available',
        lastTransitionTime: isoOf(since),
      };
}

/** The node's MemoryPressure condition and taint (NoSchedule, as the node lifecycle controller sets it). */
function setMemoryPressure(ctx: SimContext, node: KubeObject, rt: NodeRuntime, pressure: boolean): void {
  const now = ctx.clock.epochMs;
  rt.memoryPressure = pressure;
  rt.memoryRelievedSince = undefined;
  const conditions = (field<Conditions>(node, 'status.conditions') ?? [])
    .filter((x) => x['type'] !== 'MemoryPressure')
    .concat(memoryPressureCondition(pressure, now));
  const taints = (field<Taint[]>(node, 'spec.taints') ?? []).filter((t) => !isMemoryPressureTaint(t));
  writeNode(
    ctx,
    node,
    pressure ? [...taints, { ...MEMORY_PRESSURE_TAINT, timeAdded: isoOf(now) }] : taints,
    conditions,
  );
  const reason = pressure ? 'NodeHasInsufficientMemory' : 'NodeHasSufficientMemory';
  ctx.events.record(
    node,
    'Normal',
    reason,
    `Node ${node.metadata.name} status is now: ${reason}`,
    'kubelet',
    node.metadata.name,
  );
}

const kibibytes = (bytes: number) => `${Math.max(0, Math.round(bytes / 1024))}Ki`;

/**
 * The pod the kubelet evicts first under memory pressure: among the running pods, those using more
 * memory than they request before the others, and among those the one furthest over its request.
 */
function memoryVictim(
  ctx: SimContext,
  nodeName: string,
): { pod: KubeObject; rt: PodRuntime; used: number; request: number } | undefined {
  let best: { pod: KubeObject; rt: PodRuntime; used: number; request: number } | undefined;
  for (const pod of podsOn(ctx, nodeName)) {
    const rt = ctx.pods.get(pod.metadata.uid ?? '');
    if (!rt || rt.evicted || field<string>(pod, 'status.phase') !== 'Running') continue;
    const used = rt.containers.reduce((s, c) => s + c.memory, 0);
    const request = podRequests(pod).memory;
    const over = used > request;
    const bestOver = best !== undefined && best.used > best.request;
    const before =
      !best || (over && !bestOver) || (over === bestOver && used - request > best.used - best.request);
    if (before) best = { pod, rt, used, request };
  }
  return best;
}

/**
 * Node-pressure eviction for memory, as the kubelet does it: when a node's available memory falls
 * below the hard threshold, the MemoryPressure condition turns True (with its NoSchedule taint) and
 * the kubelet evicts one pod every round until there is room again; the condition clears once
 * memory has stayed available for the transition period.
 */
export function applyMemoryPressure(ctx: SimContext): void {
  const now = ctx.clock.epochMs;
  for (const node of ctx.cluster.store.scan('/nodes')) {
    const rt = ctx.nodes.get(node.metadata.name);
    const allocatable = parseQuantity(field(node, 'status.allocatable.memory'));
    if (!rt?.up || allocatable === undefined) continue;
    const available = allocatable - rt.memoryUsed;
    if (available >= MEMORY_EVICTION_THRESHOLD) {
      if (!rt.memoryPressure) continue;
      rt.memoryRelievedSince ??= now;
      if (now - rt.memoryRelievedSince >= PRESSURE_TRANSITION_MS) setMemoryPressure(ctx, node, rt, false);
      continue;
    }
    rt.memoryRelievedSince = undefined;
    if (!rt.memoryPressure) setMemoryPressure(ctx, node, rt, true);
    if (now - rt.lastMemoryEviction < EVICTION_INTERVAL_MS) continue;
    const victim = memoryVictim(ctx, node.metadata.name);
    if (!victim) continue;
    rt.lastMemoryEviction = now;
    const fresh = ctx.cluster.store.peek('/nodes', undefined, node.metadata.name) ?? node;
    ctx.events.record(
      fresh,
      'Warning',
      'EvictionThresholdMet',
      'Attempting to reclaim memory',
      'kubelet',
      node.metadata.name,
    );
    evictPod(
      ctx,
      victim.pod,
      victim.rt,
      `The node was low on resource: memory. Threshold quantity: 100Mi, available: ${kibibytes(available)}. Container app was using ${kibibytes(victim.used)}, request is ${kibibytes(victim.request)}, has larger consumption of memory.`,
    );
    // Its memory is freed at once: the next round sees the node without it.
    rt.memoryUsed -= victim.used;
  }
}

/** metrics.k8s.io objects from the kubelets' view (what metrics-server would serve). */
export function metricsObjects(
  ctx: SimContext,
  resource: 'pods' | 'nodes',
  namespace: string | undefined,
): KubeObject[] {
  const timestamp = ctx.clock
    .now()
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  if (resource === 'nodes') {
    return [...ctx.nodes.values()]
      .filter((n) => n.up)
      .map((n) => ({
        apiVersion: 'metrics.k8s.io/v1beta1',
        kind: 'NodeMetrics',
        metadata: { name: n.name, creationTimestamp: timestamp },
        timestamp,
        window: '20s',
        usage: { cpu: formatCpu(n.cpuUsed), memory: formatMemory(n.memoryUsed) },
      }));
  }
  const out: KubeObject[] = [];
  for (const rt of ctx.pods.values()) {
    if (namespace !== undefined && rt.namespace !== namespace) continue;
    if (!rt.node || !ctx.nodes.get(rt.node)?.up || rt.evicted) continue;
    const running = rt.containers.filter((c) => c.phase === 'running');
    if (running.length === 0) continue;
    out.push({
      apiVersion: 'metrics.k8s.io/v1beta1',
      kind: 'PodMetrics',
      metadata: {
        name: rt.name,
        namespace: rt.namespace,
        creationTimestamp: timestamp,
        labels: ctx.cluster.store.peek('/pods', rt.namespace, rt.name)?.metadata.labels ?? {},
      },
      timestamp,
      window: '20s',
      containers: running.map((c) => ({
        name: c.name,
        usage: { cpu: formatCpu(c.cpu), memory: formatMemory(c.memory) },
      })),
    });
  }
  return out.sort(
    (a, b) =>
      (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}
